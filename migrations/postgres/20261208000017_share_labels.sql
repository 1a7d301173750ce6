-- A label the owner gives a share link, to tell their links apart ("Contract for ACME").
ALTER TABLE share_links ADD COLUMN label TEXT;
