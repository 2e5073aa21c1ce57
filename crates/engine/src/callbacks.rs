//! Where event callbacks may go (docs/wire-choices.md, "Events and the hub"): a hub
//! subscriber names a URL the server will POST to, so a server reachable from outside must
//! not become a way into its own network. Unless the operator allows it, callbacks to
//! loopback, link-local, private, shared (CGNAT), unspecified, multicast and
//! documentation-only addresses are refused: at registration (an address written in the
//! URL, or a name that resolves only to such addresses) and again at every delivery, where
//! the resolver drops such addresses before connecting (a name that changed its answers
//! since gets nowhere).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::error::{Error, Result};

/// Whether callbacks may reach private and loopback addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackPolicy {
    /// Anywhere (a server on loopback: development and tests).
    Anywhere,
    /// Public addresses only.
    PublicOnly,
}

impl CallbackPolicy {
    pub fn allows(self, ip: IpAddr) -> bool {
        self == CallbackPolicy::Anywhere || is_public(ip)
    }

    /// Checks a callback URL at registration: a literal address must be allowed; a name
    /// must resolve to at least one allowed address.
    pub async fn check(self, url: &reqwest::Url) -> Result<()> {
        if self == CallbackPolicy::Anywhere {
            return Ok(());
        }
        let refused = || {
            Error::invalid_body(format!(
                "'callback' {url} points into a private, loopback or reserved network, \
                 which this server does not call"
            ))
        };
        match host(url) {
            Host::Address(ip) if !self.allows(ip) => Err(refused()),
            Host::Name(name) => {
                let port = url.port_or_known_default().unwrap_or(80);
                let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
                    .await
                    .map_err(|error| {
                        Error::invalid_body(format!(
                            "'callback' host '{name}' does not resolve: {error}"
                        ))
                    })?
                    .collect();
                if addresses.iter().any(|address| self.allows(address.ip())) {
                    Ok(())
                } else {
                    Err(refused())
                }
            }
            _ => Ok(()),
        }
    }
}

enum Host<'a> {
    Address(IpAddr),
    Name(&'a str),
    None,
}

/// The URL's host: an address written in it (IPv6 in brackets), or a name.
fn host(url: &reqwest::Url) -> Host<'_> {
    let Some(text) = url.host_str() else {
        return Host::None;
    };
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => Host::Address(ip),
        Err(_) => Host::Name(text),
    }
}

/// A literal address in a URL never goes through the resolver: checked before sending.
pub fn literal_allowed(policy: CallbackPolicy, url: &reqwest::Url) -> bool {
    match host(url) {
        Host::Address(ip) => policy.allows(ip),
        _ => true,
    }
}

/// The resolver of the delivery client: the system's answers without the addresses the
/// policy refuses.
pub struct GuardedResolver(pub CallbackPolicy);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| policy.allows(address.ip()))
                .collect();
            if found.is_empty() {
                return Err(
                    format!("'{host}' resolves to no address this server may call back").into(),
                );
            }
            let addresses: Addrs = Box::new(found.into_iter());
            Ok(addresses)
        })
    }
}

pub fn resolver(policy: CallbackPolicy) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver(policy))
}

/// A globally routable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // shared address space (RFC 6598)
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments
        || (a == 192 && b == 0 && c == 0)
        // benchmarking (RFC 2544)
        || (a == 198 && (18..20).contains(&b))
        // reserved
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // unique local fc00::/7
        || (first & 0xfe00) == 0xfc00
        // link-local fe80::/10
        || (first & 0xffc0) == 0xfe80
        // documentation 2001:db8::/32
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_public_only_server_refuses_private_callbacks_by_address_or_by_name() {
        let policy = CallbackPolicy::PublicOnly;
        for refused in [
            "http://127.0.0.1:9/listener",
            "http://[::1]:9/",
            "http://10.0.0.7/",
            "http://169.254.169.254/latest/meta-data",
            "http://localhost:9/",
        ] {
            let url = reqwest::Url::parse(refused).unwrap();
            assert!(policy.check(&url).await.is_err(), "{refused}");
        }
        let public = reqwest::Url::parse("http://8.8.8.8/listener").unwrap();
        assert!(policy.check(&public).await.is_ok());
        assert!(literal_allowed(policy, &public));
        let private = reqwest::Url::parse("http://192.168.0.1/").unwrap();
        assert!(!literal_allowed(policy, &private));
        assert!(literal_allowed(CallbackPolicy::Anywhere, &private));
        let local = reqwest::Url::parse("http://localhost:9/").unwrap();
        assert!(CallbackPolicy::Anywhere.check(&local).await.is_ok());
    }

    #[tokio::test]
    async fn the_delivery_resolver_drops_what_the_policy_refuses() {
        let name: Name = "localhost".parse().unwrap();
        let guarded = GuardedResolver(CallbackPolicy::PublicOnly)
            .resolve(name)
            .await;
        assert!(guarded.is_err());
        let name: Name = "localhost".parse().unwrap();
        let open = GuardedResolver(CallbackPolicy::Anywhere)
            .resolve(name)
            .await
            .unwrap();
        assert!(open.into_iter().all(|address| address.ip().is_loopback()));
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = refused.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert!(!is_public(ip), "{refused}");
            assert!(!CallbackPolicy::PublicOnly.allows(ip), "{refused}");
            assert!(CallbackPolicy::Anywhere.allows(ip), "{refused}");
        }
        for allowed in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            let ip: IpAddr = allowed.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert!(is_public(ip), "{allowed}");
        }
    }
}
