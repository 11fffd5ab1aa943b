//! The cluster metadata image: cluster id, topics with their ids, partitions,
//! replicas, leaders and config overrides, and the producer-id counter.
//!
//! A single broker is its own controller and keeps the image in one JSON file in
//! its data directory, replaced atomically on every change. The image is what a
//! replicated metadata log will hold once brokers form a cluster; the rest of
//! the broker only sees [`MetadataImage`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

const IMAGE_FILE: &str = "kfk-metadata.json";
const META_PROPERTIES: &str = "meta.properties";

/// One partition's placement and leadership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMeta {
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// -1 when offline.
    pub leader: i32,
    pub leader_epoch: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMeta {
    pub id: Uuid,
    pub partitions: Vec<PartitionMeta>,
    /// Topic-level config overrides.
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

/// Everything the cluster agrees on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataImage {
    pub topics: BTreeMap<String, TopicMeta>,
    /// Next producer id InitProducerId hands out.
    #[serde(default)]
    pub next_producer_id: i64,
}

impl MetadataImage {
    pub fn topic_by_id(&self, id: Uuid) -> Option<(&String, &TopicMeta)> {
        self.topics.iter().find(|(_, t)| t.id == id)
    }
}

/// Loads and saves the image and the cluster identity.
#[derive(Debug)]
pub struct MetadataStore {
    path: PathBuf,
    pub cluster_id: String,
    /// Whether an image was found on disk (false on a first start).
    pub image_found: bool,
}

/// Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
fn new_cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = Uuid::new_v4().into_bytes();
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = String::with_capacity(22);
    for b in bytes {
        bits = (bits << 8) | u32::from(b);
        nbits += 8;
        while nbits >= 6 {
            nbits -= 6;
            out.push(ALPHABET[((bits >> nbits) & 0x3f) as usize] as char);
        }
    }
    if nbits > 0 {
        out.push(ALPHABET[((bits << (6 - nbits)) & 0x3f) as usize] as char);
    }
    out
}

/// Writes `contents` to `path` through a temporary file and a rename, so a crash
/// leaves either the old or the new file.
fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

impl MetadataStore {
    /// Opens the store in `data_dir`, creating the cluster id on first start
    /// (kept in `meta.properties`, as Kafka does).
    ///
    /// # Errors
    /// I/O errors, a `meta.properties` of another node, or an unreadable image.
    pub fn open(data_dir: &Path, node_id: i32) -> anyhow::Result<(MetadataStore, MetadataImage)> {
        std::fs::create_dir_all(data_dir)?;
        let props_path = data_dir.join(META_PROPERTIES);
        let cluster_id = match std::fs::read_to_string(&props_path) {
            Ok(text) => {
                let props = parse_properties(&text);
                if let Some(stored) = props.get("node.id")
                    && stored != &node_id.to_string()
                {
                    anyhow::bail!(
                        "{} belongs to node {stored}, not node {node_id}; use that node id or another data directory",
                        props_path.display()
                    );
                }
                props
                    .get("cluster.id")
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("{} has no cluster.id", props_path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = new_cluster_id();
                let text =
                    format!("#\n#Written by kfkd\ncluster.id={id}\nnode.id={node_id}\nversion=1\n");
                write_atomically(&props_path, text.as_bytes())?;
                id
            }
            Err(e) => return Err(e.into()),
        };
        let path = data_dir.join(IMAGE_FILE);
        let (image, image_found) = match std::fs::read(&path) {
            Ok(bytes) => (
                serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!("{} is not a metadata image: {e}", path.display())
                })?,
                true,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (MetadataImage::default(), false),
            Err(e) => return Err(e.into()),
        };
        Ok((
            MetadataStore {
                path,
                cluster_id,
                image_found,
            },
            image,
        ))
    }

    /// Persists `image`.
    ///
    /// # Errors
    /// I/O errors; the previous image is then still on disk.
    pub fn save(&self, image: &MetadataImage) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(image).map_err(std::io::Error::other)?;
        write_atomically(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ids_look_like_kafkas() {
        let id = new_cluster_id();
        assert_eq!(id.len(), 22);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(id, new_cluster_id());
    }

    #[test]
    fn identity_and_image_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut image) = MetadataStore::open(dir.path(), 1).unwrap();
        image.topics.insert(
            "t".into(),
            TopicMeta {
                id: Uuid::new_v4(),
                partitions: vec![PartitionMeta {
                    replicas: vec![1],
                    isr: vec![1],
                    leader: 1,
                    leader_epoch: 0,
                }],
                configs: BTreeMap::new(),
            },
        );
        store.save(&image).unwrap();
        let (again, image2) = MetadataStore::open(dir.path(), 1).unwrap();
        assert_eq!(again.cluster_id, store.cluster_id);
        assert_eq!(image2, image);
        assert!(MetadataStore::open(dir.path(), 2).is_err());
    }
}
