// The Logs view's golden screens (see Golden.swift).
extension Golden {
    static let logs80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <f/end> Follow  <w> Wrap  </> Search  <n> Next  <N> Prev  <c> Cancel
        ─────────── Logs 00000002 · all targets · following · 9 lines · live ───────────
        edge-1 │ line 1
        edge-2 │ line 1
        edge-1 │ line 2
        edge-2 │ line 2
        edge-1 │ line 3
        edge-2 │ line 3
        edge-3 │ fetching https://example.invalid/packages/index.json with a long line t
        edge-3 │ error: cannot resolve example.invalid
        edge-1 │ done










         <commands>   <00000002>   <logs>
         ? help · esc back · q quit
        """#

    static let logsWrapped80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online
         <f/end> Follow  <w> Wrap  </> Search  <n> Next  <N> Prev  <c> Cancel
        ──── Logs 00000002 · all targets · paused · wrap · 9 lines · live · /line 2 ────
        edge-1 │ line 2
        edge-2 │ line 2
        edge-1 │ line 3
        edge-2 │ line 3
        edge-3 │ fetching https://example.invalid/packages/index.json with a long line t
               │ hat needs wrapping to fit
        edge-3 │ error: cannot resolve example.invalid
        edge-1 │ done











         <commands>   <00000002>   <logs>
         ? help · esc back · q quit
        """#
}
