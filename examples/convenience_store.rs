//! A convenience store's age check: "may I sell this person alcohol or tobacco?" The
//! clerk's terminal asks for two booleans — adult under the Youth Protection Act, and over
//! 19 — and learns nothing else: no name, no birth date, no photo, no number.
//!
//! The phone is reached online here (OpenID4VP with a DCQL query); at the counter it would
//! be the same question over ISO 18013-5 proximity (`Template::AgeCheck.mdoc_request`).
//!
//! Run: `cargo run -p kmid --example convenience_store`

#![allow(clippy::print_stdout)]

#[path = "common.rs"]
mod common;

use kmid::schema::catalogue::ClaimId;
use kmid::schema::{Card, CardType};
use kmid::{Format, OpenId4VpRequest, Template};
use kmid_testkit::samples;
use serde_json::Value;

fn main() -> common::Result<()> {
    let now = time::OffsetDateTime::now_utc();
    let card = Card::from(samples::foreigner());
    let (_issuer, wallet, verifier) = common::setup(&card, now)?;

    // The terminal's request: a fresh nonce per customer.
    let query = Template::AgeCheck.dcql_query(CardType::Foreigner, Format::SdJwtVc);
    let request = OpenId4VpRequest::new(
        "x509_san_dns:pos.cu.example",
        "cu-7f3a9c",
        "https://pos.cu.example/openid4vp",
    );
    println!("terminal asks: {}", serde_json::to_string(&query)?);

    // The phone answers with exactly those two claims, bound to the nonce.
    let vp_token = wallet.answer_dcql(&query, &request, now)?;

    // The terminal verifies signature, chain, holder binding, nonce, status — and decides.
    let seen = verifier.verify_vp_token(&query, &request, &vp_token, now)?;
    let (_, seen) = seen.first().ok_or("no presentation")?;
    let adult = seen.claim(ClaimId::YouthActAdult) == Some(&Value::Bool(true));
    println!(
        "{} from {}, status {:?}",
        seen.card_type.name_en(),
        seen.issuer.as_deref().unwrap_or("?"),
        seen.status
    );
    println!("disclosed: {:?}", seen.claims);
    println!("{}", if adult { "SALE OK" } else { "REFUSE SALE" });
    assert_eq!(seen.claims.len(), 2, "nothing but the two age answers");
    Ok(())
}
