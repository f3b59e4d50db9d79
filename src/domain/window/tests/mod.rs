use super::*;

mod daylight_saving;
mod fitting;
mod opening;
mod property;
mod rows;

fn seconds(hh_mm: &str) -> i32 {
    let (h, m) = hh_mm.split_once(':').unwrap();
    h.parse::<i32>().unwrap() * 3600 + m.parse::<i32>().unwrap() * 60
}

fn row(id: i64, days: &str, starts: &str, ends: &str, zone: &str) -> WindowRow {
    WindowRow {
        id,
        target: "orders".to_owned(),
        database: None,
        days: days.to_owned(),
        starts_at: seconds(starts),
        ends_at: seconds(ends),
        time_zone: zone.to_owned(),
        comment: None,
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn windows(rows: &[WindowRow]) -> MaintenanceWindows {
    MaintenanceWindows::from_rows(rows).unwrap()
}

fn state(rows: &[WindowRow], now: &str) -> WindowState {
    windows(rows).state("orders", "app", at(now))
}

fn open_until(rows: &[WindowRow], now: &str) -> Timestamp {
    match state(rows, now) {
        WindowState::Open { closes_at } => closes_at.timestamp(),
        other => panic!("at {now}: expected open, got {other:?}"),
    }
}

fn closed_until(rows: &[WindowRow], now: &str) -> Timestamp {
    match state(rows, now) {
        WindowState::Closed {
            opens_at: Some(opens_at),
        } => opens_at.timestamp(),
        other => panic!("at {now}: expected closed, got {other:?}"),
    }
}
