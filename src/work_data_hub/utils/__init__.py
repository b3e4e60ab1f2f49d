"""Small cross-cutting helpers: logging and the clock."""
