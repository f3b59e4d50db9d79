-- NULL when the server already runs as many rebuilds as it may (see the function in
-- migration 0004).
SELECT index_pilot.start_reindex($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                                 $14, $15, $16, $17, $18, $19, $20, $21) AS id;
