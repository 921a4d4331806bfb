import datetime as dt

import pytest

from letters import dates


@pytest.mark.parametrize(
    "value",
    ["20.05.2024", "2024-05-20", "2024-05-20 00:00:00", " 20.05.2024 ", dt.date(2024, 5, 20),
     dt.datetime(2024, 5, 20, 13, 5), 45432, 45432.0],
)
def test_the_forms_clerks_use_are_read(value):
    assert dates.parse_date(value) == dt.date(2024, 5, 20)


@pytest.mark.parametrize("value, message", [("31.02.2024", "нет в календаре"), ("вчера", "не дата"), ("20/05/2024", "не дата")])
def test_wrong_dates_are_explained(value, message):
    with pytest.raises(ValueError, match=message):
        dates.parse_date(value)


def test_printed_forms():
    assert dates.numeric(dt.date(2024, 5, 2)) == "02.05.2024"
    assert dates.long(dt.date(2024, 5, 2)) == "2\u00a0мая\u00a02024\u00a0г."
