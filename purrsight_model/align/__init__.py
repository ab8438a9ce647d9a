"""Phase 1: contrastive alignment of image/audio/text features into a shared 512-d space."""
