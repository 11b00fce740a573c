"""Voucherify's customer filter language, compiled to one SQL query over the project's customers.

    compiled = compile_filter(segment.filter, now=timezone.now())   # raises FilterError
    Customer.objects.for_project(project).filter(compiled.q)

See `compiler.py` for the shape of a filter and `fields.py` for the fields and their operators.
"""

from segments.filters.compiler import CompiledFilter, compile_filter
from segments.filters.errors import FilterError

__all__ = ["CompiledFilter", "FilterError", "compile_filter"]
