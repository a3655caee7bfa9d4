"""Math queries: every selected model answers every query of data/queries.txt.

Test ids are ``test_math_query[<model>-<query id>]``, so ``pytest benchmarks -k phi2``
runs one model. The plugin measures the model's work; the test asks and scores. A
wrong answer does not fail the test: accuracy is a measurement, reported in the summary.
"""


def test_math_query(slm, math_query):
    slm.ask(math_query)
    if math_query.answer is not None:
        result = slm.score("numeric")
        assert result.correct or result.reason, "a wrong answer must say why"
