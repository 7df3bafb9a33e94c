//! Addresses, structured the way Korean road-name addresses (도로명주소) are written and the way
//! the OpenID Connect / EU PID `address` claim splits them.

use serde::{Deserialize, Serialize};

use crate::error::{InvalidValue, SchemaError};
use crate::text::{CountryCode, Text};

/// A postal address.
///
/// Korean addresses are written from the largest unit to the smallest: region (시·도), locality
/// (시·군·구), then the road name, building number and any detail. [`Address::formatted`] joins
/// them in that order with single spaces, which is the form printed on the cards.
///
/// ```
/// use kmid_schema::{Address, CountryCode};
///
/// let a = Address::new(CountryCode::KR, "서울특별시", "종로구", "세종대로 209", Some("03154"))?;
/// assert_eq!(a.formatted(), "서울특별시 종로구 세종대로 209");
/// # Ok::<(), kmid_schema::SchemaError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "AddressFields", into = "AddressFields")]
pub struct Address {
    country: CountryCode,
    region: Text,
    locality: Text,
    street_address: Text,
    postal_code: Option<Text>,
}

/// The serialized form of [`Address`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressFields {
    country: CountryCode,
    region: String,
    locality: String,
    street_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    postal_code: Option<String>,
}

impl Address {
    /// An address. For `country` `KR` the postal code, when given, is the five-digit 국가기초구역
    /// number in use since 2015.
    ///
    /// # Errors
    /// [`SchemaError::InvalidField`] for `address.region`, `address.locality`,
    /// `address.street_address` or `address.postal_code`.
    pub fn new(
        country: CountryCode,
        region: &str,
        locality: &str,
        street_address: &str,
        postal_code: Option<&str>,
    ) -> Result<Self, SchemaError> {
        let postal_code = postal_code
            .map(|code| {
                let ok = if country.is_korea() {
                    code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit())
                } else {
                    (1..=16).contains(&code.len())
                        && code
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
                };
                if ok {
                    Text::new("address.postal_code", code)
                } else {
                    Err(SchemaError::field(
                        "address.postal_code",
                        InvalidValue::Malformed {
                            expected: "a postal code (five digits in Korea)",
                        },
                    ))
                }
            })
            .transpose()?;
        Ok(Self {
            country,
            region: Text::new("address.region", region)?,
            locality: Text::new("address.locality", locality)?,
            street_address: Text::new("address.street_address", street_address)?,
            postal_code,
        })
    }

    /// ISO 3166-1 alpha-2 country.
    #[must_use]
    pub const fn country(&self) -> CountryCode {
        self.country
    }

    /// Region: 특별시, 광역시, 특별자치시, 도 or 특별자치도 (e.g. `서울특별시`).
    #[must_use]
    pub fn region(&self) -> &str {
        self.region.as_str()
    }

    /// Locality: 시, 군 or 구 (e.g. `종로구`).
    #[must_use]
    pub fn locality(&self) -> &str {
        self.locality.as_str()
    }

    /// Road name, building number and detail (e.g. `세종대로 209, 3층`).
    #[must_use]
    pub fn street_address(&self) -> &str {
        self.street_address.as_str()
    }

    /// Postal code, if known.
    #[must_use]
    pub fn postal_code(&self) -> Option<&str> {
        self.postal_code.as_ref().map(Text::as_str)
    }

    /// The address as one line, largest unit first: `서울특별시 종로구 세종대로 209`.
    #[must_use]
    pub fn formatted(&self) -> String {
        [self.region(), self.locality(), self.street_address()].join(" ")
    }
}

impl TryFrom<AddressFields> for Address {
    type Error = SchemaError;
    fn try_from(f: AddressFields) -> Result<Self, SchemaError> {
        Self::new(
            f.country,
            &f.region,
            &f.locality,
            &f.street_address,
            f.postal_code.as_deref(),
        )
    }
}

impl From<Address> for AddressFields {
    fn from(a: Address) -> Self {
        Self {
            country: a.country,
            region: a.region.as_str().to_owned(),
            locality: a.locality.as_str().to_owned(),
            street_address: a.street_address.as_str().to_owned(),
            postal_code: a.postal_code.map(|p| p.as_str().to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korean_postal_codes_are_five_digits() {
        assert!(
            Address::new(
                CountryCode::KR,
                "부산광역시",
                "해운대구",
                "해운대로 1",
                Some("48094")
            )
            .is_ok()
        );
        for bad in ["4809", "480944", "48-94", "AB123"] {
            assert_eq!(
                Address::new(
                    CountryCode::KR,
                    "부산광역시",
                    "해운대구",
                    "해운대로 1",
                    Some(bad)
                ),
                Err(SchemaError::field(
                    "address.postal_code",
                    InvalidValue::Malformed {
                        expected: "a postal code (five digits in Korea)"
                    }
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_part_is_checked() {
        assert_eq!(
            Address::new(CountryCode::KR, "", "종로구", "세종대로 209", None),
            Err(SchemaError::field("address.region", InvalidValue::Empty))
        );
        assert_eq!(
            Address::new(
                CountryCode::KR,
                "서울특별시",
                "종로구",
                "세종대로\t209",
                None
            ),
            Err(SchemaError::field(
                "address.street_address",
                InvalidValue::ForbiddenCharacter {
                    index: 4,
                    code_point: 9
                }
            ))
        );
    }

    #[test]
    fn json_round_trip_rejects_unknown_fields() {
        let a = Address::new(
            CountryCode::KR,
            "서울특별시",
            "종로구",
            "세종대로 209",
            Some("03154"),
        )
        .unwrap();
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["street_address"], "세종대로 209");
        assert_eq!(serde_json::from_value::<Address>(json.clone()).unwrap(), a);
        let mut extra = json;
        extra["formatted"] = "x".into();
        assert!(serde_json::from_value::<Address>(extra).is_err());
    }
}
