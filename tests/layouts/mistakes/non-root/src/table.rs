//! The table, in the wrong place.
stagecraft_core::include_providers!();
