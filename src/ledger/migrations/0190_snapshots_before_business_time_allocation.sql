-- Balance components are now allocated in business time, from the case's money movements,
-- which aggregate snapshots taken before did not keep. Snapshots are a disposable cache:
-- the next loads replay the events and take new ones. (The cases read model's stored facts
-- keep their components until `ledger rebuild cases`.)
DELETE FROM snapshots;
