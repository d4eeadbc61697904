{# No two rows share the same values of `columns` (a small stand-in for dbt_utils, which
   would need `dbt deps` and the network). #}
{% test unique_combination_of_columns(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_sharing
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
