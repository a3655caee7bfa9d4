"""Math queries: every selected model answers every query of data/queries.txt.

Test ids are ``test_math_query[<model>-<query id>]``, so ``pytest benchmarks -k phi2``
runs one model. The plugin measures each call; the test only asks.
"""


def test_math_query(slm, math_query):
    slm.ask(math_query)
