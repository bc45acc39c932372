// Golden screens of the Run form for UpdateAgent (regenerate as Golden.swift says).
enum GoldenAgentForms {
    static let runAgent80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <enter> Send  <ctrl-t> Type  <tab/↓> Next  <shift-tab/↑> Prev  <esc> Close
        ───────────────────────────────── Update agent ─────────────────────────────────

           Type         ( ) RunCommand  (•) UpdateAgent  ( ) UpdatePackage

           Targets      [edge-1,edge-2                                               ]
                        → 2 nodes: edge-1, edge-2

         ▸ Artifact     (•) node-agent 0.2.0  3f1c2a9e  16.8 MiB  2h ago  by alice
                        ( ) node-agent 0.1.9  8d2e4b6a  16.6 MiB  3d ago  by bob
                        ( ) by hand: an https URL, its SHA-256 and version
           Version      0.2.0  (from the artifact)
           SHA-256      9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
           Timeout (s)  [        ]  empty: no limit
           Rollout      max concurrency [      ]  max errors [      ]  e.g. 3 or 10%

           Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *
           Nodes fetch it, verify the SHA-256, swap, restart; unhealthy ones roll back.
           ctrl-t: next type · ←/→ or space: change a choice · tab: next field


         <nodes>   <run>
         ? help · esc back · q quit
        """#

    static let runAgent120 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <enter> Send  <ctrl-t> Type  <tab/↓> Next  <shift-tab/↑> Prev  <esc> Close
        ───────────────────────────────────────────────────── Update agent ─────────────────────────────────────────────────────

           Type         ( ) RunCommand  (•) UpdateAgent  ( ) UpdatePackage

           Targets      [edge-1,edge-2                                               ]
                        → 2 nodes: edge-1, edge-2

         ▸ Artifact     (•) node-agent 0.2.0  3f1c2a9e  16.8 MiB  2h ago  by alice
                        ( ) node-agent 0.1.9  8d2e4b6a  16.6 MiB  3d ago  by bob
                        ( ) by hand: an https URL, its SHA-256 and version
           Version      0.2.0  (from the artifact)
           SHA-256      9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
           Timeout (s)  [        ]  empty: no limit
           Rollout      max concurrency [      ]  max errors [      ]  e.g. 3 or 10%

           Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *
           Nodes fetch it, verify the SHA-256, swap, restart; unhealthy ones roll back.
           ctrl-t: next type · ←/→ or space: change a choice · tab: next field


















         <nodes>   <run>
         ? help · esc back · q quit
        """#

    static let runAgentEmpty80 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <enter> Send  <ctrl-t> Type  <tab/↓> Next  <shift-tab/↑> Prev  <esc> Close
        ───────────────────────────────── Update agent ─────────────────────────────────

           Type         ( ) RunCommand  (•) UpdateAgent  ( ) UpdatePackage

           Targets      [edge-1,edge-2                                               ]
                        → 2 nodes: edge-1, edge-2

         ▸ Artifact     no agent binary uploaded yet (ctrl-r reloads); upload one with:
                        curl -H "Authorization: Bearer $FLEET_TOKEN" \
                          --data-binary @node-agent \
                          "$AGENT_SVC_URL/v1/artifacts?name=node-agent&version=X"
                        (•) by hand: an https URL, its SHA-256 and version
           URL          [                                                            ]
           SHA-256      [                                                              ]
           Version      [                        ]
           Timeout (s)  [        ]  empty: no limit
           Rollout      max concurrency [      ]  max errors [      ]  e.g. 3 or 10%

           Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *
           Nodes fetch it, verify the SHA-256, swap, restart; unhealthy ones roll back.
         <nodes>   <run>
         ? help · esc back · q quit
        """#

    static let confirmAgent120 = #"""
         fleet ▸ http://127.0.0.1:8080 ● connected  nodes 2/4 online  marked 2
         <y> Yes  <n> No
        ───────────────────────────────────────────────────── Update agent ─────────────────────────────────────────────────────

           Type         ( ) RunCommand  (•) UpdateAgent  ( ) UpdatePackage

           Targets      [edge-1,edge-2                                               ]
                        → 2 nodes: edge-1, edge-2

         ▸ Artifact     (•) node-agent 0.2.0  3f1c2a9e  16.8 MiB  2h ago  by alice
                        ( ) node-agent 0.1.9  8d2e4b6a  16.6 MiB  3d ago  by bob
                        ( ) by hand: an https URL, its SHA-256 and version
           Version      0.2.0  (from the artifact)
           SHA-256      9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
           Timeout (s)  [        ]  empty: no limit
           Rollout      max concurr┌─ Update agent ────────────────────────────────────────────────┐
                                   │                                                               │
           Targets: ids (a,b,c), or│ UpdateAgent → 0.2.0 on 2 nodes                                │
           Nodes fetch it, verify t│ nodes: edge-1, edge-2                                         │
           ctrl-t: next type · ←/→ │ artifact 3f1c2a9e · sha256 9f86d081884c7d65…                  │
                                   │ no timeout                                                    │
                                   │ A node whose new agent does not come back healthy rolls back. │
                                   │                                                               │
                                   │                    [y] send    [n] not now                    │
                                   └───────────────────────────────────────────────────────────────┘













         <nodes>   <run>
         ? help · esc back · q quit
        """#
}
