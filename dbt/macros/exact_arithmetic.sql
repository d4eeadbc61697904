{# Sums and means of floating-point columns that do not depend on row order. Summing doubles
   gives a result that depends on the order the rows arrive in (0.33314000000000005 one day,
   0.33314 after a re-run), so a mart would differ in its last digit depending on how the days
   were run. These sum exact decimals with 6 decimal places instead (sentiment scores carry 4,
   rates 4): the sum is exact in any order, and a mean is rounded to 6 decimals. The result
   is a double precision column, as before. #}
{% macro exact_sum(column) -%}
    cast(sum(cast({{ column }} as decimal(18, 6))) as double precision)
{%- endmacro %}

{% macro exact_mean(column) -%}
    cast(round(avg(cast({{ column }} as decimal(18, 6))), 6) as double precision)
{%- endmacro %}
