from catalog.management.commands.bench_refresh import busiest_window


def test_busiest_window_counts_the_most_requests_in_any_minute():
    times = [0.0, 10.0, 59.9, 60.0, 61.0, 119.0, 200.0]
    assert busiest_window(times) == 4  # 10.0, 59.9, 60.0 and 61.0 fall within one 60 s span
    assert busiest_window([]) == 0
    assert busiest_window([5.0], width=60.0) == 1
