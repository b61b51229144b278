// microgo web page (placeholder until the page lands).
