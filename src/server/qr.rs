//! QR codes, as `data:` URLs of SVG images a page shows in an `<img>` (the pages' CSP allows
//! `data:` images): an authenticator's enrolment, a new share or upload-request link.

use base64::{engine::general_purpose::STANDARD, Engine as _};

use crate::server::error::{Error, Result};

/// `text` as a QR code at least `size` pixels square, with its quiet zone.
pub fn data_url(text: &str, size: u32) -> Result<String> {
    let svg = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| Error::internal("qr code", e))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(size, size)
        .quiet_zone(true)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        STANDARD.encode(svg)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_an_svg_data_url() {
        let url = data_url("https://files.example.org/s/abc", 200).unwrap();
        let svg = STANDARD
            .decode(url.strip_prefix("data:image/svg+xml;base64,").unwrap())
            .unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");
    }
}
