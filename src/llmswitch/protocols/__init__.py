"""Request body codecs: turn client bodies into what the routing pipeline reads."""
