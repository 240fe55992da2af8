//! The order goyaml.v2 writes map keys in: its "natural" comparison of strings
//! (`keyList.Less` in `sorter.go`), where runs of digits compare as numbers and letters sort
//! after everything else.
//!
//! The comparison is not a strict total order in contrived cases, so keys are sorted with
//! a merge sort written here: Rust's library sorts may panic on an inconsistent comparator,
//! and a key in a file must never be able to do that. (Go sorts map keys that arrive in
//! random order, so for such inconsistent key sets kustomize's own output is not stable.)

use std::cmp::Ordering;

use super::unicode_tables::{DIGITS, LETTERS};

/// Whether goyaml.v2 writes key `a` before key `b`.
pub(super) fn less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = is_go_letter(ar[i]);
        let bl = is_go_letter(br[i]);
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            // Exactly one is a letter: the other one comes first.
            return bl;
        }
        // Neither is a letter: compare the digit runs starting here as numbers. A '0' that
        // continues a number with a non-zero digit before it counts that number as 1 on both
        // sides (goyaml.v2 looks back only in `a`).
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && is_go_digit(ar[j - 1]) {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_go_digit(ar[ai]) {
            an = an.wrapping_mul(10).wrapping_add(digit_value(ar[ai]));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_go_digit(br[bi]) {
            bn = bn.wrapping_mul(10).wrapping_add(digit_value(br[bi]));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Go's `unicode.IsLetter`. Rust's `is_alphabetic` is wider (it adds letter numbers and
/// combining vowel signs), so non-ASCII code points are looked up in Go's own table.
fn is_go_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    in_table(LETTERS, c)
}

/// Go's `unicode.IsDigit`: any decimal digit (category Nd), not only ASCII.
fn is_go_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    in_table(DIGITS, c)
}

fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let code = u32::from(c);
    table
        .binary_search_by(|&(low, high)| {
            if high < code {
                Ordering::Less
            } else if low > code {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

/// Go computes `rune - '0'` for every Unicode digit, so a non-ASCII digit contributes its
/// code point offset rather than its numeric value.
fn digit_value(c: char) -> i64 {
    i64::from(u32::from(c)) - i64::from(u32::from('0'))
}

/// Sorts keys into goyaml.v2's order with a stable merge sort that tolerates an
/// inconsistent comparison.
pub(super) fn sort_keys<T>(items: &mut Vec<T>, key: impl Fn(&T) -> &str) {
    let n = items.len();
    if n < 2 {
        return;
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut buffer: Vec<usize> = Vec::with_capacity(n);
    let mut width = 1;
    while width < n {
        buffer.clear();
        let mut start = 0;
        while start < n {
            let middle = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j) = (start, middle);
            while i < middle && j < end {
                // Take from the right only when it is strictly before the left: stable.
                if less(key(&items[order[j]]), key(&items[order[i]])) {
                    buffer.push(order[j]);
                    j += 1;
                } else {
                    buffer.push(order[i]);
                    i += 1;
                }
            }
            buffer.extend_from_slice(&order[i..middle]);
            buffer.extend_from_slice(&order[j..end]);
            start = end;
        }
        std::mem::swap(&mut order, &mut buffer);
        width *= 2;
    }
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    for index in order {
        if let Some(item) = slots.get_mut(index).and_then(Option::take) {
            items.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `less` as an ordering, for tests and callers that want one.
    fn compare(a: &str, b: &str) -> Ordering {
        if less(a, b) {
            Ordering::Less
        } else if less(b, a) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }

    #[test]
    fn the_verified_key_order() {
        let long = "k".repeat(130);
        let expected: Vec<String> = [
            "", "A", "a-b", "a.b", "a_b", "a9", "a9x", "a09", "a10", "a010", "aB", "ab", "k1",
            "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12", "k13", "k14",
            "k15", "k16", &long, "é",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut keys = expected.clone();
        keys.reverse();
        keys.swap(3, 17);
        keys.swap(0, 9);
        sort_keys(&mut keys, |s| s.as_str());
        assert_eq!(keys, expected);
    }

    #[test]
    fn kubernetes_field_orders() {
        let mut keys = vec!["status", "spec", "metadata", "kind", "apiVersion"];
        sort_keys(&mut keys, |s| s);
        assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec", "status"]);
        let mut keys = vec!["ports", "name", "image", "env", "command", "args"];
        sort_keys(&mut keys, |s| s);
        assert_eq!(keys, ["args", "command", "env", "image", "name", "ports"]);
    }

    #[test]
    fn non_letters_before_letters_and_numbers_by_value() {
        assert!(less("a-b", "aB"));
        assert!(less("x2", "x10"));
        assert!(less("x", "x1"));
        assert!(less("1", "a"));
        assert!(less("Z", "a"));
        assert!(less("a", "é"));
        assert_eq!(compare("abc", "abc"), Ordering::Equal);
        // Unicode digits count as digits (Go's unicode.IsDigit), superscripts do not.
        assert!(is_go_digit('٣'));
        assert!(!is_go_digit('²'));
        assert!(is_go_letter('é'));
        assert!(!is_go_letter('Ⅰ'));
        assert!(!is_go_letter('\u{93E}'));
    }

    #[test]
    fn an_inconsistent_order_does_not_panic() {
        let mut keys: Vec<String> = (0..500).map(|i| format!("a{}0{}", i % 7, i)).collect();
        keys.extend((0..200).map(|i| format!("{i}0")));
        sort_keys(&mut keys, |s| s.as_str());
        assert_eq!(keys.len(), 700);
    }
}
