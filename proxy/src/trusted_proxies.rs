//! The reverse proxies whose forwarding header is believed
//! (`trusted_proxies`): addresses and CIDR ranges, parsed once from the
//! config. The client's address ([`crate::http::client_ip`]) and the
//! listener's per-address connection cap ([`crate::serve`]) ask the same
//! [`TrustedProxies::contains`], so the two never disagree.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// A set of trusted proxies; empty believes no header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Reads `10.0.0.1`, `::1`, `10.0.0.0/8` or `fd00::/8` entries; the error
    /// names the first entry that is none of these.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry
                    .parse::<IpNet>()
                    .map(|range| range.trunc())
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "{entry:?} is not an address or range like 10.0.0.1, ::1 or 10.0.0.0/8"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether `address` is one of the proxies. An IPv4 address reached over
    /// IPv6 (`::ffff:10.0.0.1`) counts as its IPv4 self.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|range| range.contains(&address))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many entries (addresses or ranges) there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, range) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            // A single address reads as itself, not as a /32.
            if range.prefix_len() == range.max_prefix_len() {
                write!(f, "{}", range.addr())?;
            } else {
                write!(f, "{range}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn addresses_and_ranges_are_read_and_matched() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8", " 192.168.1.7 ", "fd00::/8", "::1"])
            .expect("valid");
        assert_eq!(trusted.len(), 4);
        assert!(trusted.contains(ip("10.200.3.4")));
        assert!(trusted.contains(ip("::ffff:10.0.0.1")), "IPv4-mapped");
        assert!(trusted.contains(ip("192.168.1.7")));
        assert!(!trusted.contains(ip("192.168.1.8")));
        assert!(trusted.contains(ip("fd12::5")));
        assert!(trusted.contains(ip("::1")));
        assert!(!trusted.contains(ip("11.0.0.1")));
        assert!(!trusted.contains(ip("2001:db8::1")));
        assert_eq!(
            trusted.to_string(),
            "10.0.0.0/8, 192.168.1.7, fd00::/8, ::1"
        );
    }

    #[test]
    fn a_range_with_host_bits_means_its_network() {
        let trusted = TrustedProxies::parse(&["10.1.2.3/16"]).expect("valid");
        assert!(trusted.contains(ip("10.1.200.1")));
        assert_eq!(trusted.to_string(), "10.1.0.0/16");
    }

    #[test]
    fn anything_else_is_refused_by_name() {
        for bad in ["10.0.0.0/33", "ten", "10.0.0.1:80", "10.0.0.0/", ""] {
            let error = TrustedProxies::parse(&[bad]).expect_err(bad);
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
        assert!(
            TrustedProxies::parse::<&str>(&[])
                .expect("empty")
                .is_empty()
        );
    }

    proptest::proptest! {
        // 2,000 cases: arbitrary entries, and addresses and ranges as written.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]

        #[test]
        fn any_entries_are_read_or_refused_naming_one_and_what_is_read_prints_back(
            entries in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::any::<String>(),
                    "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(/[0-9]{1,2})?",
                    "[0-9a-f:]{2,20}(/[0-9]{1,3})?",
                ],
                0..4,
            ),
        ) {
            match TrustedProxies::parse(&entries) {
                Ok(trusted) => {
                    proptest::prop_assert_eq!(trusted.len(), entries.len());
                    let printed = trusted.to_string();
                    let again: Vec<&str> = printed.split(", ").filter(|e| !e.is_empty()).collect();
                    proptest::prop_assert_eq!(TrustedProxies::parse(&again), Ok(trusted));
                }
                Err(error) => proptest::prop_assert!(
                    entries.iter().any(|entry| error.contains(&format!("{:?}", entry.trim()))),
                    "{error}"
                ),
            }
        }
    }
}
