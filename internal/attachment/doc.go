// Package attachment is photo evidence: an app-chosen id, a presigned upload straight
// to the blob store, a server-side check of size, checksum and image header before the
// photo counts, EXIF read as evidence, and derivatives made by a durable job.
package attachment
