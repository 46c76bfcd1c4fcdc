//! Compression by file extension, as Hadoop's `CompressionCodecFactory`:
//! `.gz` (gzip), `.zst` (zstd) and `.bz2` (bzip2) inputs are decompressed
//! while read, and text outputs may be written compressed. A compressed
//! file is one partition: its stream cannot be entered mid-way (Hadoop's
//! bzip2 block splitting is not done).

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// A compression format of text inputs and outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Codec {
    Gzip,
    Zstd,
    Bzip2,
}

impl Codec {
    /// The codec of a file name's extension, if it names one.
    pub fn from_name(name: &str) -> Option<Codec> {
        let (_, ext) = name.rsplit_once('.')?;
        match ext.to_ascii_lowercase().as_str() {
            "gz" | "gzip" => Some(Codec::Gzip),
            "zst" | "zstd" => Some(Codec::Zstd),
            "bz2" => Some(Codec::Bzip2),
            _ => None,
        }
    }

    /// The extension its files get (with the dot).
    pub fn extension(self) -> &'static str {
        match self {
            Codec::Gzip => ".gz",
            Codec::Zstd => ".zst",
            Codec::Bzip2 => ".bz2",
        }
    }

    /// A reader of the decompressed bytes of `compressed`. Concatenated
    /// gzip members and zstd frames are read as one stream, as `zcat` does.
    pub fn decoder<'a>(self, compressed: impl Read + Send + 'a) -> std::io::Result<Box<dyn Read + Send + 'a>> {
        let buffered = std::io::BufReader::with_capacity(256 << 10, compressed);
        Ok(match self {
            Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
            Codec::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
        })
    }

    /// A writer that compresses into `sink`; [`Encoder::finish`] writes the
    /// stream's end and gives `sink` back.
    pub fn encoder<W: Write>(self, sink: W) -> std::io::Result<Encoder<W>> {
        Ok(match self {
            Codec::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(sink, flate2::Compression::default())),
            Codec::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(sink, 3)?),
            Codec::Bzip2 => Encoder::Bzip2(bzip2::write::BzEncoder::new(sink, bzip2::Compression::default())),
        })
    }
}

/// A compressing writer of one of the [`Codec`]s.
pub enum Encoder<W: Write> {
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Bzip2(bzip2::write::BzEncoder<W>),
}

impl<W: Write> Encoder<W> {
    pub fn finish(self) -> std::io::Result<W> {
        match self {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
            Encoder::Bzip2(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            Encoder::Gzip(e) => e.write(data),
            Encoder::Zstd(e) => e.write(data),
            Encoder::Bzip2(e) => e.write(data),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
            Encoder::Bzip2(e) => e.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips_and_is_found_by_extension() {
        let text: Vec<u8> = (0..20_000).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
        for codec in [Codec::Gzip, Codec::Zstd, Codec::Bzip2] {
            assert_eq!(Codec::from_name(&format!("part-00000{}", codec.extension())), Some(codec));
            let mut enc = codec.encoder(Vec::new()).unwrap();
            enc.write_all(&text).unwrap();
            let compressed = enc.finish().unwrap();
            assert!(compressed.len() < text.len() / 3, "{codec:?}");
            let mut back = Vec::new();
            codec.decoder(&compressed[..]).unwrap().read_to_end(&mut back).unwrap();
            assert_eq!(back, text, "{codec:?}");
        }
        assert_eq!(Codec::from_name("x.txt"), None);
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_short_read() {
        for codec in [Codec::Gzip, Codec::Zstd, Codec::Bzip2] {
            let mut enc = codec.encoder(Vec::new()).unwrap();
            enc.write_all(&[b'x'; 10_000]).unwrap();
            let mut compressed = enc.finish().unwrap();
            let mid = compressed.len() / 2;
            compressed[mid] ^= 0xff;
            compressed.truncate(compressed.len() - 4);
            let mut back = Vec::new();
            let result = codec.decoder(&compressed[..]).and_then(|mut d| d.read_to_end(&mut back));
            assert!(result.is_err(), "{codec:?} read {} bytes of a corrupt stream", back.len());
        }
    }
}
