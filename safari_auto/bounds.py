"""Bounds that input serializers take from the model they write, so a value that fits the
serializer fits the database on both profiles (SQLite and Postgres).

`ModelBounded` reads, for each serializer field named like a model field: `max_length` of a
text column, the range of an integer column (Django's ranges, the same on every backend), and
for every time a sane year. The tighter of the serializer's own bound and the column's wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.core import validators
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from rest_framework import serializers

MIN_YEAR = 1970
MAX_YEAR = 2100
RANGES = BaseDatabaseOperations.integer_field_ranges
MAX_ID = RANGES["BigAutoField"][1]


def time_problem(moment: datetime) -> str | None:
    if MIN_YEAR <= moment.year <= MAX_YEAR:
        return None
    return f"must be between the years {MIN_YEAR} and {MAX_YEAR}"


def sane_time(moment: datetime) -> None:
    problem = time_problem(moment)
    if problem:
        raise serializers.ValidationError(problem)


def column_range(field: models.Field) -> tuple[int, int] | None:  # type: ignore[type-arg]
    low, high = RANGES.get(field.get_internal_type(), (None, None))
    return None if low is None or high is None else (low, high)


def bound_field(field: serializers.Field, column: models.Field | None) -> None:  # type: ignore[type-arg]
    """Tighten `field` to what `column` (if any) can store."""
    if isinstance(field, serializers.DateTimeField):
        field.validators.append(sane_time)
    if column is None:
        return
    if (
        isinstance(field, serializers.CharField)
        and column.max_length
        and (field.max_length is None or field.max_length > column.max_length)
    ):
        field.max_length = column.max_length
        field.validators.append(validators.MaxLengthValidator(column.max_length))
    if isinstance(field, serializers.IntegerField) and (limits := column_range(column)):
        low, high = limits
        if field.min_value is None or field.min_value < low:
            field.min_value = low
            field.validators.append(validators.MinValueValidator(low))
        if field.max_value is None or field.max_value > high:
            field.max_value = high
            field.validators.append(validators.MaxValueValidator(high))


class ModelBounded(serializers.Serializer):  # type: ignore[type-arg]
    """Mixin: set `bounds_model`; fields named like its columns get the columns' bounds."""

    bounds_model: ClassVar[type[models.Model] | None] = None

    def get_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super().get_fields()
        for name, field in fields.items():
            bound_field(field, self._column(field.source or name))
        return fields

    def _column(self, name: str) -> models.Field | None:  # type: ignore[type-arg]
        if self.bounds_model is None:
            return None
        try:
            column = self.bounds_model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if isinstance(column, models.ForeignKey):
            return column.target_field
        return column if isinstance(column, models.Field) and column.concrete else None
