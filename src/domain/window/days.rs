//! The days a maintenance window opens on: `mon-fri`, `sat,sun`, `fri-mon`, `monday`.

use jiff::civil::Weekday;

/// A set of weekdays, Monday bit 0 … Sunday bit 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Days(u8);

const NAMES: [(&str, &str); 7] = [
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
];

fn day_index(name: &str) -> Result<u8, String> {
    let lower = name.trim().to_lowercase();
    if lower.is_empty() {
        return Err("a day is missing (an empty item or range end)".to_owned());
    }
    NAMES
        .iter()
        .position(|(short, long)| lower == *short || lower == *long)
        .and_then(|i| u8::try_from(i).ok())
        .ok_or_else(|| {
            format!(
                "unknown day {:?} (mon … sun, or monday … sunday)",
                name.trim()
            )
        })
}

impl Days {
    /// Parses a comma list of days and ranges; a range whose end comes before its
    /// start in the week wraps over Sunday (`fri-mon` is Friday to Monday).
    pub(crate) fn parse(text: &str) -> Result<Days, String> {
        if text.trim().is_empty() {
            return Err("no day given".to_owned());
        }
        let mut bits = 0u8;
        for item in text.split(',') {
            let mut ends = item.split('-');
            let first = day_index(ends.next().unwrap_or_default())?;
            let last = match ends.next() {
                Some(end) => day_index(end)?,
                None => first,
            };
            if ends.next().is_some() {
                return Err(format!(
                    "{:?} is not a day or a range of two days",
                    item.trim()
                ));
            }
            let mut day = first;
            loop {
                bits |= 1 << day;
                if day == last {
                    break;
                }
                day = (day + 1) % 7;
            }
        }
        Ok(Days(bits))
    }

    pub(crate) fn contains(self, day: Weekday) -> bool {
        let offset = day.to_monday_zero_offset();
        (0..7).contains(&offset) && self.0 & (1 << offset) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(text: &str) -> Vec<&'static str> {
        let set = Days::parse(text).unwrap();
        [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ]
        .into_iter()
        .zip(NAMES)
        .filter(|(day, _)| set.contains(*day))
        .map(|(_, (short, _))| short)
        .collect()
    }

    #[test]
    fn lists_ranges_and_names() {
        assert_eq!(
            days("mon-sun"),
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        );
        assert_eq!(days("mon-fri"), ["mon", "tue", "wed", "thu", "fri"]);
        assert_eq!(days("Sat, SUNDAY"), ["sat", "sun"]);
        assert_eq!(days("wednesday"), ["wed"]);
        assert_eq!(days(" tue - thu , sat "), ["tue", "wed", "thu", "sat"]);
        assert_eq!(days("mon,mon-tue"), ["mon", "tue"]);
        assert_eq!(days("thu-thu"), ["thu"]);
    }

    #[test]
    fn ranges_wrap_over_the_week_end() {
        assert_eq!(days("fri-mon"), ["mon", "fri", "sat", "sun"]);
        assert_eq!(days("sun-tue"), ["mon", "tue", "sun"]);
    }

    #[test]
    fn bad_lists_say_what_is_wrong() {
        assert_eq!(
            Days::parse("mon-fry").unwrap_err(),
            "unknown day \"fry\" (mon … sun, or monday … sunday)"
        );
        assert!(Days::parse("").unwrap_err().contains("no day"));
        assert!(Days::parse("mon,,tue").unwrap_err().contains("missing"));
        assert!(Days::parse("mon-").unwrap_err().contains("missing"));
        assert!(Days::parse("mon-wed-fri")
            .unwrap_err()
            .contains("not a day or a range"));
        assert!(Days::parse("weekdays").unwrap_err().contains("unknown day"));
    }
}
