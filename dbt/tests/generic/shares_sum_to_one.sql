{#- Fails each group whose shares do not add up to 1 (to 1e-9): a share computed over the wrong partition, a
    dropped or double-counted row. Groups where every share is NULL (nothing traded) are left out. -#}
{% test shares_sum_to_one(model, column_name, group_by) %}
select {{ group_by | join(', ') }}, sum({{ column_name }}) as total
from {{ model }}
group by {{ group_by | join(', ') }}
having count({{ column_name }}) > 0 and abs(sum({{ column_name }}) - 1) > 1e-9
{% endtest %}
