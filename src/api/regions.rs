//! The Genesys Cloud regions: code, display name and hosts (genesys-api.md §2.2).
//!
//! One table serves the CRD schema (the `region` enum), admission checks and the API
//! client, so a region is added in exactly one place.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Genesys Cloud region, named by its AWS region code as the API and the CRDs spell it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Region {
    #[serde(rename = "us-east-1")]
    UsEast1,
    #[serde(rename = "us-east-2")]
    UsEast2,
    #[serde(rename = "us-west-2")]
    UsWest2,
    #[serde(rename = "ca-central-1")]
    CaCentral1,
    #[serde(rename = "sa-east-1")]
    SaEast1,
    #[serde(rename = "mx-central-1")]
    MxCentral1,
    #[serde(rename = "eu-west-1")]
    EuWest1,
    #[serde(rename = "eu-west-2")]
    EuWest2,
    #[serde(rename = "eu-central-1")]
    EuCentral1,
    #[serde(rename = "eu-central-2")]
    EuCentral2,
    #[serde(rename = "me-central-1")]
    MeCentral1,
    #[serde(rename = "ap-south-1")]
    ApSouth1,
    #[serde(rename = "ap-northeast-1")]
    ApNortheast1,
    #[serde(rename = "ap-northeast-2")]
    ApNortheast2,
    #[serde(rename = "ap-northeast-3")]
    ApNortheast3,
    #[serde(rename = "ap-southeast-2")]
    ApSoutheast2,
    #[serde(rename = "ap-southeast-1")]
    ApSoutheast1,
    #[serde(rename = "eusc-de-east-1")]
    EuscDeEast1,
}

/// Static facts about one region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    pub region: Region,
    /// The AWS-style code used on the wire and in manifests, e.g. `us-east-1`.
    pub code: &'static str,
    /// The name Genesys shows in its UI, e.g. `Americas (US East)`.
    pub display_name: &'static str,
    /// The domain both hosts hang off, e.g. `mypurecloud.com`.
    pub domain: &'static str,
}

impl RegionInfo {
    /// `api.<domain>`: where `/api/v2/...` is served.
    pub(crate) fn api_host(&self) -> String {
        format!("api.{}", self.domain)
    }

    /// `login.<domain>`: where `/oauth/token` is served.
    pub(crate) fn login_host(&self) -> String {
        format!("login.{}", self.domain)
    }
}

macro_rules! regions {
    ($( $variant:ident, $code:literal, $domain:literal, $name:literal; )*) => {
        /// Every region, in the order of genesys-api.md §2.2.
        pub const REGIONS: &[RegionInfo] = &[
            $( RegionInfo { region: Region::$variant, code: $code, display_name: $name, domain: $domain }, )*
        ];
    };
}

regions! {
    UsEast1, "us-east-1", "mypurecloud.com", "Americas (US East)";
    UsEast2, "us-east-2", "use2.us-gov-pure.cloud", "Americas (US East 2)";
    UsWest2, "us-west-2", "usw2.pure.cloud", "Americas (US West)";
    CaCentral1, "ca-central-1", "cac1.pure.cloud", "Americas (Canada)";
    SaEast1, "sa-east-1", "sae1.pure.cloud", "Americas (São Paulo)";
    MxCentral1, "mx-central-1", "mxc1.pure.cloud", "Americas (Mexico)";
    EuWest1, "eu-west-1", "mypurecloud.ie", "EMEA (Dublin)";
    EuWest2, "eu-west-2", "euw2.pure.cloud", "EMEA (London)";
    EuCentral1, "eu-central-1", "mypurecloud.de", "EMEA (Frankfurt)";
    EuCentral2, "eu-central-2", "euc2.pure.cloud", "EMEA (Zurich)";
    MeCentral1, "me-central-1", "mec1.pure.cloud", "EMEA (UAE)";
    ApSouth1, "ap-south-1", "aps1.pure.cloud", "Asia Pacific (Mumbai)";
    ApNortheast1, "ap-northeast-1", "mypurecloud.jp", "Asia Pacific (Tokyo)";
    ApNortheast2, "ap-northeast-2", "apne2.pure.cloud", "Asia Pacific (Seoul)";
    ApNortheast3, "ap-northeast-3", "apne3.pure.cloud", "Asia Pacific (Osaka)";
    ApSoutheast2, "ap-southeast-2", "mypurecloud.com.au", "Asia Pacific (Sydney)";
    ApSoutheast1, "ap-southeast-1", "apse1.pure.cloud", "Asia Pacific (Singapore)";
    EuscDeEast1, "eusc-de-east-1", "edee1.eusc-pure.cloud", "EU Sovereign Cloud (Germany)";
}

impl Region {
    /// Every region.
    pub fn all() -> impl Iterator<Item = Region> {
        REGIONS.iter().map(|r| r.region)
    }

    /// The static facts of this region.
    pub(crate) fn info(self) -> &'static RegionInfo {
        REGIONS
            .iter()
            .find(|r| r.region == self)
            .expect("every Region variant has a row in REGIONS")
    }

    /// The wire code, e.g. `us-east-1`.
    pub fn code(self) -> &'static str {
        self.info().code
    }

    /// Looks a region up by its code (`us-east-1`); `None` for an unknown code.
    pub(crate) fn from_code(code: &str) -> Option<Region> {
        REGIONS.iter().find(|r| r.code == code).map(|r| r.region)
    }

    /// Default API base URL, `https://api.<domain>`.
    pub fn api_base_url(self) -> String {
        format!("https://{}", self.info().api_host())
    }

    /// Default OAuth token URL, `https://login.<domain>/oauth/token`.
    pub(crate) fn token_url(self) -> String {
        format!("https://{}/oauth/token", self.info().login_host())
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The error of parsing an unknown region code; lists the valid ones so the user can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Genesys Cloud region {0:?}; valid regions: {list}", list = valid_codes())]
pub struct UnknownRegion(pub String);

/// The valid region codes, comma separated, for error messages.
pub(crate) fn valid_codes() -> String {
    REGIONS
        .iter()
        .map(|r| r.code)
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Region {
    type Err = UnknownRegion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::from_code(s).ok_or_else(|| UnknownRegion(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighteen_regions_each_round_trip_through_serde_and_code() {
        assert_eq!(REGIONS.len(), 18);
        for info in REGIONS {
            let json = serde_json::to_string(&info.region).unwrap();
            assert_eq!(json, format!("\"{}\"", info.code));
            let back: Region = serde_json::from_str(&json).unwrap();
            assert_eq!(back, info.region);
            assert_eq!(Region::from_code(info.code), Some(info.region));
            assert_eq!(info.region.info(), info);
        }
    }

    #[test]
    fn hosts_follow_the_sdk_tables() {
        assert_eq!(
            Region::UsEast1.api_base_url(),
            "https://api.mypurecloud.com"
        );
        assert_eq!(
            Region::UsEast1.token_url(),
            "https://login.mypurecloud.com/oauth/token"
        );
        assert_eq!(
            Region::UsEast2.info().api_host(),
            "api.use2.us-gov-pure.cloud"
        );
        assert_eq!(
            Region::ApNortheast1.info().login_host(),
            "login.mypurecloud.jp"
        );
        assert_eq!(Region::ApSoutheast2.info().domain, "mypurecloud.com.au");
        assert_eq!(Region::EuscDeEast1.info().domain, "edee1.eusc-pure.cloud");
    }

    #[test]
    fn unknown_region_names_the_valid_ones() {
        let err = "us-east-9".parse::<Region>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"us-east-9\""), "{msg}");
        assert!(msg.contains("us-east-1, us-east-2"), "{msg}");
    }
}
