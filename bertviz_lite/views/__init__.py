"""Views: each module turns an Analysis into one figure or one piece of escaped HTML."""
