//! The project's git HEAD (read-only, local; git2 without network features): the `commit_id`
//! and `branch_name` placeholders, and the commit a pipeline version records. The one reader
//! of HEAD.

use std::path::Path;

/// What the placeholders can take from git.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitInfo {
    /// Short id of the HEAD commit (git's abbreviation, 7+ characters).
    pub commit_id: Option<String>,
    /// The checked-out branch (None when HEAD is detached).
    pub branch_name: Option<String>,
    /// Full id of the HEAD commit.
    pub commit_sha: Option<String>,
}

impl GitInfo {
    pub fn get(&self, what: &str) -> Option<String> {
        match what {
            "commit_id" => self.commit_id.clone(),
            "branch_name" => self.branch_name.clone(),
            _ => None,
        }
    }
}

/// HEAD of the repository containing `dir`; empty when there is none (or no commit yet).
pub fn head_info(dir: &Path) -> GitInfo {
    let Ok(repo) = git2::Repository::discover(dir) else {
        return GitInfo::default();
    };
    let Ok(head) = repo.head() else {
        return GitInfo::default();
    };
    let branch_name = if head.is_branch() {
        head.shorthand().ok().map(str::to_string)
    } else {
        None
    };
    let commit = head.peel_to_commit().ok();
    let commit_id = commit
        .as_ref()
        .and_then(|c| c.as_object().short_id().ok())
        .and_then(|b| b.as_str().ok().map(str::to_string));
    GitInfo {
        commit_id,
        branch_name,
        commit_sha: commit.map(|c| c.id().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(repo: &git2::Repository) -> git2::Oid {
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let tree_id = repo.index().unwrap().write_tree().unwrap();
        let tree = repo.find_tree(tree_id).unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "init", &tree, &[])
            .unwrap()
    }

    #[test]
    fn reads_short_sha_and_branch_from_a_subdirectory() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let oid = commit(&repo);
        let branch = repo.head().unwrap().shorthand().unwrap().to_string();
        let sub = dir.path().join("conf");
        std::fs::create_dir(&sub).unwrap();
        let info = head_info(&sub);
        let short = info.commit_id.clone().unwrap();
        assert!(
            short.len() >= 7 && oid.to_string().starts_with(&short),
            "{short}"
        );
        assert_eq!(info.branch_name.as_deref(), Some(branch.as_str()));
        assert_eq!(info.get("branch_name"), Some(branch));
    }

    #[test]
    fn detached_head_has_no_branch() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let oid = commit(&repo);
        repo.set_head_detached(oid).unwrap();
        let info = head_info(dir.path());
        assert!(info.commit_id.is_some());
        assert_eq!(info.branch_name, None);
    }

    #[test]
    fn no_repository_or_no_commit_gives_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(head_info(dir.path()), GitInfo::default());
        git2::Repository::init(dir.path()).unwrap();
        assert_eq!(head_info(dir.path()), GitInfo::default());
    }
}
