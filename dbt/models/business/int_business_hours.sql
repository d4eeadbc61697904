-- The business's opening hours as UTC intervals, one per working day: weekdays in
-- var('business_days') (ISO numbers, Monday 1), minus the dates of the business_holidays seed,
-- from var('business_hours_start') to var('business_hours_end') local time in
-- the business number's zone (WAREADER_BUSINESS_TIMEZONE, else var('business_timezone'): the
-- zone of every local figure of webhook messages, macros/sessions.sql), for the days of
-- var('business_calendar_start'..'_end').

with days as (
    select cast(day_start as date) as business_date
    from generate_series(
        cast('{{ var("business_calendar_start") }}' as timestamp),
        cast('{{ var("business_calendar_end") }}' as timestamp),
        interval '1 day'
    ) as calendar (day_start)
),

working_days as (
    select days.business_date
    from days
    left join {{ ref('business_holidays') }} as holidays
        on holidays.holiday_date = days.business_date
    where holidays.holiday_date is null
        and extract(isodow from days.business_date)
            in ({{ var('business_days') | join(', ') }})
)

select
    business_date,
    cast(
        cast(business_date as varchar) || ' {{ var("business_hours_start") }}' as timestamp
    ) at time zone {{ business_timezone() }} as opens_at,
    cast(
        cast(business_date as varchar) || ' {{ var("business_hours_end") }}' as timestamp
    ) at time zone {{ business_timezone() }} as closes_at
from working_days
