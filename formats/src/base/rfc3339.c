/* rfc3339: the pinned UTC timestamp form, and the one syntax of times and durations on both
 * tools' command lines; civil-date arithmetic without the C library's locale- and TZ-dependent
 * functions. */
#include "upt/rfc3339.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n, int64_t *out)
{
	int64_t v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int upt_rfc3339_parse(const char *s, int64_t *out, upt_err *e)
{
	int64_t y, mo, d, h, mi, sec;
	if (strlen(s) != UPT_RFC3339_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z' || digits(s, 4, &y) ||
	    digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
	    digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return upt_err_set(e, UPT_E_MALFORMED,
				   "time \"%.40s\" is not of the form YYYY-MM-DDTHH:MM:SSZ", s);
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
	    h > 23 || mi > 59 || sec > 59)
		return upt_err_set(e, UPT_E_MALFORMED, "time \"%s\" is not a valid date", s);
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return UPT_OK;
}

/* The calendar day of t and the seconds into it (t may be before 1970). */
static int64_t civil_of(int64_t t, int64_t *y, int64_t *m, int64_t *d)
{
	int64_t days = t / 86400, rem = t % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, y, m, d);
	return rem;
}

void upt_rfc3339_format(int64_t t, char out[UPT_RFC3339_LEN + 1])
{
	int64_t y, m, d;
	int64_t rem = civil_of(t, &y, &m, &d);
	if (y < 0)
		y = 0;
	if (y > 9999)
		y = 9999;
	snprintf(out, UPT_RFC3339_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, (int)m, (int)d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

int upt_time_parse(const char *s, int64_t *out, upt_err *e)
{
	char t[UPT_RFC3339_LEN + 1];
	const char *full = s;
	if (strlen(s) == UPT_DATE_LEN) {
		memcpy(t, s, UPT_DATE_LEN);
		memcpy(t + UPT_DATE_LEN, "T00:00:00Z", sizeof("T00:00:00Z"));
		full = t;
	}
	upt_err why;
	upt_err_clear(&why);
	if (upt_rfc3339_parse(full, out, &why) != UPT_OK)
		return upt_err_set(e, UPT_E_USAGE,
				   "time \"%.40s\": %sexpected a date YYYY-MM-DD or a time "
				   "YYYY-MM-DDTHH:MM:SSZ (UTC)",
				   s, strstr(why.msg, "valid date") ? "not a valid date; " : "");
	return UPT_OK;
}

int64_t upt_time_add_years(int64_t t, int64_t years)
{
	int64_t y, m, d;
	int64_t rem = civil_of(t, &y, &m, &d);
	y += years;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m == 2 && d == 29 && !leap)
		d = 28; /* the last day of February, as support periods end */
	return days_from_civil(y, m, d) * 86400 + rem;
}

#define DURATION_SYNTAX "a number and h (hours), d (days) or y (calendar years): 12h, 90d, 2y"

int upt_duration_parse(const char *s, int64_t from, int64_t *secs, upt_err *e)
{
	size_t len = strlen(s);
	int64_t n;
	if (len < 2 || len > 8 || digits(s, (int)len - 1, &n) != 0 || n <= 0)
		return upt_err_set(e, UPT_E_USAGE, "duration \"%.20s\": expected " DURATION_SYNTAX,
				   s);
	int64_t max;
	switch (s[len - 1]) {
	case 'h':
		max = UPT_DURATION_YEARS_MAX * 8784; /* 366 days of hours */
		break;
	case 'd':
		max = UPT_DURATION_YEARS_MAX * 366;
		break;
	case 'y':
		max = UPT_DURATION_YEARS_MAX;
		break;
	default:
		return upt_err_set(e, UPT_E_USAGE, "duration \"%s\": expected " DURATION_SYNTAX, s);
	}
	if (n > max)
		return upt_err_set(e, UPT_E_USAGE, "duration \"%s\": at most %d years", s,
				   UPT_DURATION_YEARS_MAX);
	switch (s[len - 1]) {
	case 'h':
		*secs = n * 3600;
		break;
	case 'd':
		*secs = n * 86400;
		break;
	default:
		*secs = upt_time_add_years(from, n) - from;
		break;
	}
	return UPT_OK;
}
