//! Loopback ports for the sandbox's servers, picked where nothing else will take them
//! in the moment between picking and listening.
//!
//! A port asked of the kernel with `bind(0)` and released comes from the ephemeral
//! range (`/proc/sys/net/ipv4/ip_local_port_range`), the one every outgoing connection
//! and every other `bind(0)` draws from too: in a busy test run (an API server, etcd, a
//! controller manager and hundreds of client connections) it can be taken before the
//! server that was to listen on it starts. So ports are drawn at random from below that
//! range (from [`LOWEST`] up), where only a server asking for that very number could
//! collide, each checked free by binding it, and none handed out twice by one process.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Mutex, OnceLock};

use rand::Rng;

use super::{ControlPlaneError, io_err};

/// The lowest port handed out: above the well-known and most registered services'.
const LOWEST: u16 = 20_000;

/// How many random ports are tried before falling back to the kernel's choice.
const ATTEMPTS: usize = 64;

/// A loopback port that was free a moment ago and that this process has not handed out
/// before. A lost race is still possible (another program asking for that very port),
/// and is retried by [`super::ControlPlane::start`].
pub fn free_port() -> Result<u16, ControlPlaneError> {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(Default::default);
    let range = quiet_range(ephemeral_range());
    let mut rng = rand::rng();
    for _ in 0..ATTEMPTS {
        let Some((low, high)) = range else { break };
        let port = rng.random_range(low..=high);
        let mut given = given.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) && TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            given.insert(port);
            return Ok(port);
        }
    }
    kernels_choice()
}

/// The ports no outgoing connection and no `bind(0)` takes, given the ephemeral range:
/// from [`LOWEST`] to just below it, if that leaves room; otherwise none.
fn quiet_range((ephemeral_low, _): (u16, u16)) -> Option<(u16, u16)> {
    let high = ephemeral_low.checked_sub(1)?;
    (high > LOWEST + 1_000).then_some((LOWEST, high))
}

/// The kernel's ephemeral range; Linux's default where it cannot be read.
fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut numbers = text.split_whitespace().map(str::parse::<u16>);
            Some((numbers.next()?.ok()?, numbers.next()?.ok()?))
        })
        .unwrap_or((32_768, 60_999))
}

/// A port the kernel says is free (from the ephemeral range: the fallback only).
fn kernels_choice() -> Result<u16, ControlPlaneError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(io_err("finding a free loopback port"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(io_err("finding a free loopback port"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_below_the_ephemeral_range_free_and_never_given_twice() {
        let (ephemeral_low, _) = ephemeral_range();
        let ports: Vec<u16> = (0..200).map(|_| free_port().unwrap()).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
        if quiet_range(ephemeral_range()).is_some() {
            assert!(ports.iter().all(|p| (LOWEST..ephemeral_low).contains(p)));
        }
        for port in ports.iter().take(10) {
            TcpListener::bind((Ipv4Addr::LOCALHOST, *port)).expect("free");
        }
    }

    #[test]
    fn the_quiet_range_is_below_the_ephemeral_one_or_none() {
        assert_eq!(quiet_range((32_768, 60_999)), Some((LOWEST, 32_767)));
        assert_eq!(quiet_range((1_024, 65_535)), None);
        assert_eq!(quiet_range((20_500, 65_535)), None);
        assert_eq!(quiet_range((0, 65_535)), None);
    }
}
