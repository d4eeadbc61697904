"""Pure pieces of the WhatsApp Cloud API client: Graph error rules and the rate limiter."""
