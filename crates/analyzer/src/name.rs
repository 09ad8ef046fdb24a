//! `BoundName`: a name a cell binds, stored inline when short (nearly every Python name is).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

/// A name a cell binds at module scope ([`crate::CellAnalysis::bound_names`]).
///
/// Reads as a `&str` (it derefs to one). Names of up to 24 bytes are kept inline, so listing
/// a cell's bindings allocates nothing per name.
///
/// ```
/// use pyrepl3_analyzer::{SessionState, analyze_cell};
/// let a = analyze_cell("total = 0\nfor item in range(3):\n    total += item\n", &mut SessionState::new());
/// assert_eq!(a.bound_names, ["item", "total"]);
/// assert_eq!(a.bound_names[1].as_str(), "total");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BoundName(compact_str::CompactString);

impl BoundName {
    /// The name.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Deref for BoundName {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for BoundName {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

impl Borrow<str> for BoundName {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for BoundName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl fmt::Display for BoundName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl From<&str> for BoundName {
    fn from(name: &str) -> Self {
        Self(compact_str::CompactString::new(name))
    }
}

impl From<String> for BoundName {
    fn from(name: String) -> Self {
        Self(compact_str::CompactString::from(name))
    }
}

impl From<BoundName> for String {
    fn from(name: BoundName) -> Self {
        name.0.into_string()
    }
}

impl PartialEq<str> for BoundName {
    fn eq(&self, other: &str) -> bool {
        self.0.as_str() == other
    }
}

impl PartialEq<&str> for BoundName {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_str() == *other
    }
}

impl PartialEq<String> for BoundName {
    fn eq(&self, other: &String) -> bool {
        self.0.as_str() == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::BoundName;

    #[test]
    fn reads_and_compares_as_the_name() {
        let long = "a_name_longer_than_twenty_four_bytes_is_kept_on_the_heap";
        for text in ["x", "__annotations__", long] {
            let n = BoundName::from(text);
            assert_eq!(n.as_str(), text);
            assert_eq!(&*n, text);
            assert_eq!(n, text);
            assert_eq!(n, text.to_string());
            assert_eq!(format!("{n}"), text);
            assert_eq!(format!("{n:?}"), format!("{text:?}"));
            assert_eq!(String::from(n.clone()), text);
            assert_eq!(BoundName::from(text.to_string()), n);
        }
        let mut names = vec![BoundName::from("b"), BoundName::from("a")];
        names.sort();
        assert_eq!(names, ["a", "b"]);
        assert_ne!(BoundName::from("a"), "b");
    }
}
