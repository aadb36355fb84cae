"""The texts of the small corpus the corpus tests share (a module of its own: `conftest` is
another directory's too)."""

TEXTS = [
    "The cat sat on the mat.",
    "Apple is buying a U.K. startup for $1 billion, said Tim Cook in London.",
    "",
    "I don't like it at all!!!",
    "The bank raised its rates; the river bank flooded.",
    "Tokenization is unbelievably hard, isn't it?",
    "Mary went to Paris and John went to New York.",
    "   ",
    "She sells sea shells by the sea shore.",
    "A dog chased the red ball across the garden, and the ball rolled away.",
    "Prices rose 3.5% in March, the fastest pace since 2008.",
    "Why?",
]
