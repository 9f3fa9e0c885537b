"""``python -m schema`` rewrites schema/schema.graphql from the code."""

from __future__ import annotations

from schema.root import SDL_PATH, print_sdl

if __name__ == "__main__":
    SDL_PATH.write_text(print_sdl(), encoding="utf-8")
    print(f"wrote {SDL_PATH}")
