"""URL converters: ids that fit a 64-bit integer column (a longer one is a 404, not a 500)."""


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)
