"""Use cases. Each is a keyword-only function that loads rows, decides, writes, audits and
commits once; views and the API call these and nothing below them."""
