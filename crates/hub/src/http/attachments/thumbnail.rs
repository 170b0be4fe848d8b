//! Images: their size when they are uploaded, and a small preview when one is asked for.
//! Decoding runs on a blocking thread with bounded memory, so a decompression bomb fails
//! instead of taking the hub's memory.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use rapport_protocol::THUMBNAIL_MAX_PX;

/// Most memory one decode may take.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
/// Largest image side the hub decodes.
const MAX_SIDE: u32 = 16_384;

fn reader(path: &Path) -> image::ImageResult<ImageReader<std::io::BufReader<std::fs::File>>> {
    let mut reader = ImageReader::open(path)?.with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    Ok(reader)
}

/// Width and height of the image at `path` (from its header only), when its bytes are an
/// image of a format the hub reads.
pub fn dimensions(path: &Path) -> Option<(u32, u32)> {
    reader(path).ok()?.into_dimensions().ok()
}

/// A preview of the image at `path` at most [`THUMBNAIL_MAX_PX`] on its longer side (never
/// enlarged): a PNG when it has transparency, a JPEG otherwise; with its media type.
pub fn make(path: &Path) -> image::ImageResult<(Vec<u8>, &'static str)> {
    let image = reader(path)?.decode()?;
    let small = if image.width() > THUMBNAIL_MAX_PX || image.height() > THUMBNAIL_MAX_PX {
        image.thumbnail(THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX)
    } else {
        image
    };
    let mut out = Cursor::new(Vec::new());
    if small.color().has_alpha() {
        small.write_to(&mut out, ImageFormat::Png)?;
        Ok((out.into_inner(), "image/png"))
    } else {
        DynamicImage::ImageRgb8(small.to_rgb8()).write_to(&mut out, ImageFormat::Jpeg)?;
        Ok((out.into_inner(), "image/jpeg"))
    }
}

/// The media type of a thumbnail made by [`make`], from its first bytes.
pub fn media_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") { "image/png" } else { "image/jpeg" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_image_gets_a_small_preview_and_a_small_one_is_not_enlarged() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        image::RgbImage::from_fn(1000, 500, |x, _| image::Rgb([(x % 256) as u8, 0, 0])).save_with_format(&big, ImageFormat::Png).unwrap();
        assert_eq!(dimensions(&big), Some((1000, 500)));
        let (bytes, media) = make(&big).unwrap();
        assert_eq!(media, "image/jpeg", "no transparency: a JPEG");
        let preview = image::load_from_memory(&bytes).unwrap();
        assert_eq!((preview.width(), preview.height()), (320, 160), "320 px on the longer side, proportions kept");

        let small = dir.path().join("small");
        image::RgbaImage::new(40, 30).save_with_format(&small, ImageFormat::Png).unwrap();
        let (bytes, media) = make(&small).unwrap();
        assert_eq!((media, media_type(&bytes)), ("image/png", "image/png"), "transparency kept");
        assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 40);

        let text = dir.path().join("text");
        std::fs::write(&text, "not an image").unwrap();
        assert_eq!(dimensions(&text), None);
        assert!(make(&text).is_err());
    }
}
