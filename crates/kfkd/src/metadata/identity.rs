//! The broker's identity on disk: `meta.properties` (cluster id and node
//! id), as Kafka keeps it, so a data directory is never mounted under another
//! node id and the cluster id survives restarts.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

const META_PROPERTIES: &str = "meta.properties";

/// The broker's identity on disk: `meta.properties`, as Kafka keeps it.
#[derive(Debug)]
pub struct MetadataStore {
    pub cluster_id: String,
}

/// Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
fn new_cluster_id() -> String {
    URL_SAFE_NO_PAD.encode(Uuid::new_v4().into_bytes())
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
    /// Reads `meta.properties` in `data_dir`, creating the cluster id on first
    /// start, and checks that the directory belongs to this node.
    ///
    /// # Errors
    /// I/O errors, or a `meta.properties` of another node.
    pub fn open(data_dir: &Path, node_id: i32) -> anyhow::Result<MetadataStore> {
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
                kfk_log::write_atomically(&props_path, text.as_bytes())?;
                id
            }
            Err(e) => return Err(e.into()),
        };
        Ok(MetadataStore { cluster_id })
    }

    /// Adopts the cluster id the quorum agreed on, rewriting `meta.properties`.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn adopt_cluster_id(
        &mut self,
        data_dir: &Path,
        node_id: i32,
        id: &str,
    ) -> std::io::Result<()> {
        if self.cluster_id != id {
            let text =
                format!("#\n#Written by kfkd\ncluster.id={id}\nnode.id={node_id}\nversion=1\n");
            kfk_log::write_atomically(&data_dir.join(META_PROPERTIES), text.as_bytes())?;
            self.cluster_id = id.to_string();
        }
        Ok(())
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
    fn the_identity_survives_reopening_and_belongs_to_one_node() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetadataStore::open(dir.path(), 1).unwrap();
        let again = MetadataStore::open(dir.path(), 1).unwrap();
        assert_eq!(again.cluster_id, store.cluster_id);
        assert!(MetadataStore::open(dir.path(), 2).is_err());
    }
}
