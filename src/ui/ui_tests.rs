use super::*;

#[test]
fn qr_is_half_blocks_without_escape_codes() {
    let qr = render_qr("http://127.0.0.1:9090/device?user_code=ABCD-EFGH").unwrap();
    assert!(qr.contains('█') || qr.contains('▀') || qr.contains('▄'));
    assert!(!qr.contains('\x1b'));
    let widths: Vec<usize> = qr.lines().map(|l| l.chars().count()).collect();
    assert!(widths.iter().all(|w| *w == widths[0]), "square: {widths:?}");
    assert!(widths[0] <= 80, "fits 80 columns: {}", widths[0]);
}

#[test]
fn durations() {
    assert_eq!(human_duration(Duration::from_secs(45)), "45s");
    assert_eq!(human_duration(Duration::from_secs(545)), "9m 05s");
    assert_eq!(human_duration(Duration::from_secs(3720)), "1h 02m");
    assert_eq!(
        human_duration(Duration::from_secs(3 * 86400 + 4 * 3600)),
        "3d 04h"
    );
}
