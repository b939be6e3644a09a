"""The market's time zone, the one definition every layer imports: Asia/Ho_Chi_Minh (UTC+7, no daylight saving).

``VN_TZ_NAME`` is the IANA name (Dagster partitions and schedules, pandas dtypes, SQL); ``VN_TZ`` the zone itself.
"""

import zoneinfo

VN_TZ_NAME = "Asia/Ho_Chi_Minh"
VN_TZ = zoneinfo.ZoneInfo(VN_TZ_NAME)
