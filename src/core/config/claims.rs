//! Ports and sockets: no two claims of one port or path, in a file, across the files of one
//! command, or against the namespaces already installed. Claims are indexed by port and path,
//! so that a file of many apps is checked in O(n log n).

use std::collections::BTreeMap;

use super::value::Listen;

/// What a claim is filed under: every conflict of a claim is between claims with the same
/// port (or the same socket path).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    /// `Port(p)`: every address.
    Port(u16),
    /// `HostPort(h, p)`, by its address.
    Host(String, u16),
    /// `HostPort` on the any-address (`0.0.0.0`, `[::]`).
    AnyHost(u16),
    /// `HostPort` on whatever address.
    SomeHost(u16),
    /// A Unix socket path.
    Unix(String),
}

fn is_any(host: &str) -> bool {
    host == "0.0.0.0" || host == "[::]"
}

/// The keys a claim is filed under.
fn keys(l: &Listen) -> Vec<Key> {
    match l {
        Listen::Port(p) => vec![Key::Port(*p)],
        Listen::HostPort(h, p) => {
            let mut v = vec![Key::Host(h.clone(), *p), Key::SomeHost(*p)];
            if is_any(h) {
                v.push(Key::AnyHost(*p));
            }
            v
        }
        Listen::Unix(path) => vec![Key::Unix(path.clone())],
    }
}

/// The keys under which a claim that conflicts with this one is filed (see
/// [`Listen::conflicts`]).
fn rivals(l: &Listen) -> Vec<Key> {
    match l {
        Listen::Port(p) => vec![Key::Port(*p), Key::SomeHost(*p)],
        Listen::HostPort(h, p) => {
            let mut v = vec![Key::Port(*p), Key::Host(h.clone(), *p), Key::AnyHost(*p)];
            if is_any(h) {
                v.push(Key::SomeHost(*p));
            }
            v
        }
        Listen::Unix(path) => vec![Key::Unix(path.clone())],
    }
}

/// Claims seen so far, each key with the first claim (by its number) filed under it.
#[derive(Debug, Default)]
pub struct Index(BTreeMap<Key, usize>);

impl Index {
    /// File claim number `n`.
    pub fn add(&mut self, n: usize, l: &Listen) {
        for k in keys(l) {
            self.0.entry(k).or_insert(n);
        }
    }

    /// The first claim filed so far that conflicts with `l`.
    pub fn first_conflict(&self, l: &Listen) -> Option<usize> {
        rivals(l)
            .iter()
            .filter_map(|k| self.0.get(k))
            .min()
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index finds exactly the first claim that `Listen::conflicts` names.
    #[test]
    fn the_index_agrees_with_conflicts() {
        let all = [
            Listen::Port(80),
            Listen::HostPort("127.0.0.1".into(), 80),
            Listen::HostPort("127.0.0.2".into(), 80),
            Listen::HostPort("0.0.0.0".into(), 80),
            Listen::HostPort("[::]".into(), 80),
            Listen::HostPort("[::1]".into(), 81),
            Listen::Port(81),
            Listen::Unix("/run/a.sock".into()),
            Listen::Unix("/run/b.sock".into()),
        ];
        for order in [all.to_vec(), all.iter().rev().cloned().collect()] {
            for k in 0..order.len() {
                let mut index = Index::default();
                for (n, l) in order[..k].iter().enumerate() {
                    index.add(n, l);
                }
                let want = order[..k].iter().position(|o| o.conflicts(&order[k]));
                assert_eq!(index.first_conflict(&order[k]), want, "{:?}", order[k]);
            }
        }
    }
}
