from catalog.management.commands.bench_refresh import busiest_window, median_run


def test_busiest_window_counts_the_most_requests_in_any_minute():
    times = [0.0, 10.0, 59.9, 60.0, 61.0, 119.0, 200.0]
    assert busiest_window(times) == 4  # 10.0, 59.9, 60.0 and 61.0 fall within one 60 s span
    assert busiest_window([]) == 0
    assert busiest_window([5.0], width=60.0) == 1


def test_median_run_is_the_run_with_the_median_ratio_never_the_better_of_two():
    # Ratios 0.40, 0.60 and 0.50: the median is the third run, with its own ceiling.
    assert median_run([(200.0, 500.0), (300.0, 500.0), (250.0, 500.0)]) == (250.0, 500.0)
    # The ratio decides, not products/s: 0.55 (220 of 400) sits between 0.50 and 0.80.
    assert median_run([(300.0, 600.0), (220.0, 400.0), (400.0, 500.0)]) == (220.0, 400.0)
    # Two runs: the lower of the two.
    assert median_run([(300.0, 500.0), (200.0, 500.0)]) == (200.0, 500.0)
    assert median_run([(260.0, 520.0)]) == (260.0, 520.0)
