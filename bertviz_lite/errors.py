"""The one error a person sees: what they can fix, said in words, shown as text. Every layer
raises it; it lives at the bottom so that none needs to import upwards for it."""


class UserError(ValueError):
    """Something the person can fix; the message says what, and is shown as text."""
