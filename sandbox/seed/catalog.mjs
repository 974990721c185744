// Code catalogues used by the synthetic data generator (generate.mjs).
//
// Everything here is static reference data: LOINC codes with UCUM units and
// adult reference ranges, SNOMED CT / ICD-10-CM condition codes, RxNorm
// clinical drugs, SNOMED CT allergy substances and reaction manifestations.
// Displays follow the code systems' own wording.

export const SYS = Object.freeze({
  loinc: 'http://loinc.org',
  ucum: 'http://unitsofmeasure.org',
  snomed: 'http://snomed.info/sct',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  obsCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  interpretation: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
  dataAbsent: 'http://terminology.hl7.org/CodeSystem/data-absent-reason',
  condClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  condVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  condCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  allergyClinical: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
  allergyVerification: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  identifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  maritalStatus: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus',
  admitSource: 'http://terminology.hl7.org/CodeSystem/admit-source',
  dischargeDisposition: 'http://terminology.hl7.org/CodeSystem/discharge-disposition',
  medStatementCategory: 'http://terminology.hl7.org/CodeSystem/medication-statement-category',
  medRequestCategory: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category',
  organizationType: 'http://terminology.hl7.org/CodeSystem/organization-type',
  bcp47: 'urn:ietf:bcp:47',
  mrn: 'https://sandbox.example.test/mrn',
  exampleOid: 'urn:oid:2.16.840.1.113883.19.5',
  practitionerId: 'https://sandbox.example.test/practitioner-id',
  organizationId: 'https://sandbox.example.test/organization-id',
});

// Laboratory analytes. range: [low, high] (either may be null), or per sex.
// crit: [criticalLow, criticalHigh] for HH/LL flags. dp: decimals reported.
export const LABS = Object.freeze({
  hba1c: { loinc: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', text: 'Hemoglobin A1c', unit: '%', ucum: '%', range: [4.0, 5.6], dp: 1 },
  glucose: { loinc: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma', text: 'Glucose', unit: 'mg/dL', ucum: 'mg/dL', range: [70, 99], crit: [40, 450], dp: 0 },
  sodium: { loinc: '2951-2', display: 'Sodium [Moles/volume] in Serum or Plasma', text: 'Sodium', unit: 'mmol/L', ucum: 'mmol/L', range: [136, 145], crit: [120, 160], dp: 0 },
  potassium: { loinc: '2823-3', display: 'Potassium [Moles/volume] in Serum or Plasma', text: 'Potassium', unit: 'mmol/L', ucum: 'mmol/L', range: [3.5, 5.1], crit: [2.8, 6.0], dp: 1 },
  bun: { loinc: '3094-0', display: 'Urea nitrogen [Mass/volume] in Serum or Plasma', text: 'Urea nitrogen (BUN)', unit: 'mg/dL', ucum: 'mg/dL', range: [7, 20], dp: 0 },
  creatinine: { loinc: '2160-0', display: 'Creatinine [Mass/volume] in Serum or Plasma', text: 'Creatinine', unit: 'mg/dL', ucum: 'mg/dL', range: { female: [0.5, 1.1], male: [0.7, 1.3], other: [0.5, 1.3] }, dp: 2 },
  egfr: { loinc: '33914-3', display: 'Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula (MDRD)', text: 'eGFR', unit: 'mL/min/1.73m2', ucum: 'mL/min/{1.73_m2}', range: [60, null], dp: 0 },
  wbc: { loinc: '6690-2', display: 'Leukocytes [#/volume] in Blood by Automated count', text: 'WBC', unit: '10*3/uL', ucum: '10*3/uL', range: [4.5, 11.0], dp: 1 },
  hemoglobin: { loinc: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', text: 'Hemoglobin', unit: 'g/dL', ucum: 'g/dL', range: { female: [12.0, 15.5], male: [13.5, 17.5], other: [12.0, 17.5] }, crit: [7.0, null], dp: 1 },
  hematocrit: { loinc: '4544-3', display: 'Hematocrit [Volume Fraction] of Blood by Automated count', text: 'Hematocrit', unit: '%', ucum: '%', range: { female: [36, 46], male: [41, 53], other: [36, 53] }, dp: 1 },
  platelets: { loinc: '777-3', display: 'Platelets [#/volume] in Blood by Automated count', text: 'Platelets', unit: '10*3/uL', ucum: '10*3/uL', range: [150, 400], dp: 0 },
  cholesterol: { loinc: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma', text: 'Cholesterol, total', unit: 'mg/dL', ucum: 'mg/dL', range: [null, 199], dp: 0 },
  ldl: { loinc: '13457-7', display: 'Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation', text: 'LDL cholesterol (calculated)', unit: 'mg/dL', ucum: 'mg/dL', range: [null, 99], dp: 0 },
  hdl: { loinc: '2085-9', display: 'Cholesterol in HDL [Mass/volume] in Serum or Plasma', text: 'HDL cholesterol', unit: 'mg/dL', ucum: 'mg/dL', range: [40, null], dp: 0 },
  triglycerides: { loinc: '2571-8', display: 'Triglyceride [Mass/volume] in Serum or Plasma', text: 'Triglycerides', unit: 'mg/dL', ucum: 'mg/dL', range: [null, 149], dp: 0 },
  tsh: { loinc: '3016-3', display: 'Thyrotropin [Units/volume] in Serum or Plasma', text: 'TSH', unit: 'mIU/L', ucum: 'm[IU]/L', range: [0.4, 4.0], dp: 2 },
  bnp: { loinc: '30934-4', display: 'Natriuretic peptide B [Mass/volume] in Serum or Plasma', text: 'BNP', unit: 'pg/mL', ucum: 'pg/mL', range: [null, 100], dp: 0 },
  uacr: { loinc: '14959-1', display: 'Microalbumin/Creatinine [Mass Ratio] in Urine', text: 'Urine albumin/creatinine ratio', unit: 'mg/g', ucum: 'mg/g', range: [null, 29], dp: 0 },
});

// Lab panels (ordered sets of analytes drawn together).
export const PANELS = Object.freeze({
  bmp: ['sodium', 'potassium', 'glucose', 'bun', 'creatinine', 'egfr'],
  cbc: ['wbc', 'hemoglobin', 'hematocrit', 'platelets'],
  lipid: ['cholesterol', 'ldl', 'hdl', 'triglycerides'],
});

// Vital signs (FHIR R4 vital-signs profile codes).
export const VITALS = Object.freeze({
  bp: { loinc: '85354-9', display: 'Blood pressure panel with all children optional', text: 'Blood pressure' },
  systolic: { loinc: '8480-6', display: 'Systolic blood pressure', unit: 'mm[Hg]', ucum: 'mm[Hg]', dp: 0 },
  diastolic: { loinc: '8462-4', display: 'Diastolic blood pressure', unit: 'mm[Hg]', ucum: 'mm[Hg]', dp: 0 },
  hr: { loinc: '8867-4', display: 'Heart rate', text: 'Heart rate', unit: '/min', ucum: '/min', range: [50, 100], dp: 0 },
  rr: { loinc: '9279-1', display: 'Respiratory rate', text: 'Respiratory rate', unit: '/min', ucum: '/min', range: [12, 20], dp: 0 },
  temp: { loinc: '8310-5', display: 'Body temperature', text: 'Temperature', unit: 'Cel', ucum: 'Cel', range: [35.5, 37.9], dp: 1 },
  spo2: { loinc: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry', text: 'SpO2', unit: '%', ucum: '%', range: [92, null], dp: 0 },
  weight: { loinc: '29463-7', display: 'Body weight', text: 'Weight', unit: 'kg', ucum: 'kg', dp: 1 },
  height: { loinc: '8302-2', display: 'Body height', text: 'Height', unit: 'cm', ucum: 'cm', dp: 1 },
  bmi: { loinc: '39156-5', display: 'Body mass index (BMI) [Ratio]', text: 'BMI', unit: 'kg/m2', ucum: 'kg/m2', dp: 1 },
});

// Conditions: SNOMED CT code + ICD-10-CM code (the generator attaches the
// ICD-10-CM coding to some records only, as real problem lists do).
export const CONDITIONS = Object.freeze({
  t2dm: { snomed: ['44054006', 'Diabetes mellitus type 2 (disorder)'], icd: ['E11.9', 'Type 2 diabetes mellitus without complications'], text: 'Type 2 diabetes mellitus' },
  prediabetes: { snomed: ['714628002', 'Prediabetes (finding)'], icd: ['R73.03', 'Prediabetes'], text: 'Prediabetes' },
  htn: { snomed: ['38341003', 'Hypertensive disorder, systemic arterial (disorder)'], icd: ['I10', 'Essential (primary) hypertension'], text: 'Hypertension' },
  hld: { snomed: ['55822004', 'Hyperlipidemia (disorder)'], icd: ['E78.5', 'Hyperlipidemia, unspecified'], text: 'Hyperlipidemia' },
  ckd3: { snomed: ['433144002', 'Chronic kidney disease stage 3 (disorder)'], icd: ['N18.30', 'Chronic kidney disease, stage 3 unspecified'], text: 'Chronic kidney disease stage 3' },
  asthma: { snomed: ['195967001', 'Asthma (disorder)'], icd: ['J45.909', 'Unspecified asthma, uncomplicated'], text: 'Asthma' },
  hypothyroid: { snomed: ['40930008', 'Hypothyroidism (disorder)'], icd: ['E03.9', 'Hypothyroidism, unspecified'], text: 'Hypothyroidism' },
  depression: { snomed: ['35489007', 'Depressive disorder (disorder)'], icd: ['F32.A', 'Depression, unspecified'], text: 'Depression' },
  gerd: { snomed: ['235595009', 'Gastroesophageal reflux disease (disorder)'], icd: ['K21.9', 'Gastro-esophageal reflux disease without esophagitis'], text: 'GERD' },
  oaKnee: { snomed: ['239873007', 'Osteoarthritis of knee (disorder)'], icd: ['M17.9', 'Osteoarthritis of knee, unspecified'], text: 'Osteoarthritis of knee' },
  obesity: { snomed: ['414916001', 'Obesity (disorder)'], icd: ['E66.9', 'Obesity, unspecified'], text: 'Obesity' },
  copd: { snomed: ['13645005', 'Chronic obstructive lung disease (disorder)'], icd: ['J44.9', 'Chronic obstructive pulmonary disease, unspecified'], text: 'COPD' },
  afib: { snomed: ['49436004', 'Atrial fibrillation (disorder)'], icd: ['I48.91', 'Unspecified atrial fibrillation'], text: 'Atrial fibrillation' },
  hf: { snomed: ['84114007', 'Heart failure (disorder)'], icd: ['I50.9', 'Heart failure, unspecified'], text: 'Heart failure' },
  migraine: { snomed: ['37796009', 'Migraine (disorder)'], icd: ['G43.909', 'Migraine, unspecified, not intractable, without status migrainosus'], text: 'Migraine' },
  anemia: { snomed: ['271737000', 'Anemia (disorder)'], icd: ['D64.9', 'Anemia, unspecified'], text: 'Anemia' },
  hyperkalemia: { snomed: ['14140009', 'Hyperkalemia (disorder)'], icd: ['E87.5', 'Hyperkalemia'], text: 'Hyperkalemia' },
  // Acute, self-limiting problems (recorded as encounter diagnoses).
  bronchitis: { snomed: ['10509002', 'Acute bronchitis (disorder)'], icd: ['J20.9', 'Acute bronchitis, unspecified'], text: 'Acute bronchitis', acute: 21 },
  pneumonia: { snomed: ['233604007', 'Pneumonia (disorder)'], icd: ['J18.9', 'Pneumonia, unspecified organism'], text: 'Pneumonia', acute: 28 },
  uti: { snomed: ['68566005', 'Urinary tract infectious disease (disorder)'], icd: ['N39.0', 'Urinary tract infection, site not specified'], text: 'Urinary tract infection', acute: 10 },
  ankleSprain: { snomed: ['44465007', 'Sprain of ankle (disorder)'], icd: ['S93.409A', 'Sprain of unspecified ligament of unspecified ankle, initial encounter'], text: 'Ankle sprain', acute: 35 },
  strep: { snomed: ['43878008', 'Streptococcal sore throat (disorder)'], icd: ['J02.0', 'Streptococcal pharyngitis'], text: 'Strep throat', acute: 10 },
  sinusitis: { snomed: ['444814009', 'Viral sinusitis (disorder)'], icd: ['J01.90', 'Acute sinusitis, unspecified'], text: 'Sinusitis', acute: 14 },
  asthmaExacerbation: { snomed: ['195967001', 'Asthma (disorder)'], icd: ['J45.901', 'Unspecified asthma with (acute) exacerbation'], text: 'Asthma exacerbation', acute: 14 },
});

// RxNorm clinical drugs with a default sig. Entries with textOnly have no
// coding at all (patient-reported or free-text medications).
const ORAL = ['26643006', 'Oral route (qualifier value)'];
const INHALED = ['447694001', 'Respiratory tract route (qualifier value)'];
const SUBCUT = ['34206005', 'Subcutaneous route (qualifier value)'];
const TAB = ['tablet', '{tbl}'];
const CAP = ['capsule', '{cap}'];
const PUFF = ['puff', '{puff}'];

export const MEDS = Object.freeze({
  metforminEr500: { rxnorm: '860975', display: '24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet', text: 'Metformin ER 500 mg tablet', sig: 'Take 2 tablets by mouth once daily with the evening meal', dose: 2, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd' }, supply: [180, 90] },
  insulin7030: { rxnorm: '106892', display: 'insulin isophane, human 70 UNT/ML / insulin, regular, human 30 UNT/ML Injectable Suspension', text: 'Insulin 70/30 (human)', sig: 'Inject 18 units under the skin twice daily before breakfast and dinner', dose: 18, form: ['units', '[IU]'], route: SUBCUT, timing: { frequency: 2, period: 1, periodUnit: 'd' }, supply: [20, 30], supplyForm: ['mL', 'mL'] },
  lisinopril10: { rxnorm: '314076', display: 'lisinopril 10 MG Oral Tablet', text: 'Lisinopril 10 mg tablet', sig: 'Take 1 tablet by mouth once daily', dose: 1, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd' }, supply: [90, 90] },
  amlodipine5: { rxnorm: '197361', display: 'amlodipine 5 MG Oral Tablet', text: 'Amlodipine 5 mg tablet', sig: 'Take 1 tablet by mouth once daily', dose: 1, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd' }, supply: [90, 90] },
  hctz25: { rxnorm: '310798', display: 'hydrochlorothiazide 25 MG Oral Tablet', text: 'Hydrochlorothiazide 25 mg tablet', sig: 'Take 1 tablet by mouth every morning', dose: 1, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd' }, supply: [90, 90] },
  simvastatin20: { rxnorm: '312961', display: 'simvastatin 20 MG Oral Tablet', text: 'Simvastatin 20 mg tablet', sig: 'Take 1 tablet by mouth every evening', dose: 1, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd' }, supply: [90, 90] },
  levothyroxine75: { rxnorm: '966222', display: 'levothyroxine sodium 0.075 MG Oral Tablet', text: 'Levothyroxine 75 mcg tablet', sig: 'Take 1 tablet by mouth every morning on an empty stomach', dose: 1, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd' }, supply: [90, 90] },
  fluticasone: { rxnorm: '895994', display: '120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler', text: 'Fluticasone 44 mcg inhaler', sig: 'Inhale 2 puffs twice daily; rinse mouth after use', dose: 2, form: PUFF, route: INHALED, timing: { frequency: 2, period: 1, periodUnit: 'd' }, supply: [1, 30], supplyForm: ['inhaler', '{inhaler}'] },
  albuterol: { rxnorm: '745679', display: '200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler', text: 'Albuterol 90 mcg inhaler', sig: 'Inhale 2 puffs every 4 to 6 hours as needed for wheezing or shortness of breath', dose: 2, form: PUFF, route: INHALED, timing: { frequency: 1, period: 4, periodMax: 6, periodUnit: 'h' }, prn: true, supply: [1, 30], supplyForm: ['inhaler', '{inhaler}'] },
  sertraline100: { rxnorm: '312938', display: 'sertraline 100 MG Oral Tablet', text: 'Sertraline 100 mg tablet', sig: 'Take 1 tablet by mouth once daily', dose: 1, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd' }, supply: [30, 30] },
  warfarin5: { rxnorm: '855332', display: 'warfarin sodium 5 MG Oral Tablet', text: 'Warfarin 5 mg tablet', sig: 'Take 1 tablet by mouth daily in the evening, or as directed by the anticoagulation clinic', dose: 1, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd' }, supply: [30, 30] },
  furosemide40: { rxnorm: '313988', display: 'furosemide 40 MG Oral Tablet', text: 'Furosemide 40 mg tablet', sig: 'Take 1 tablet by mouth every morning', dose: 1, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd' }, supply: [30, 30] },
  aspirin81: { rxnorm: '243670', display: 'aspirin 81 MG Oral Tablet', text: 'Aspirin 81 mg tablet', sig: 'Take 1 tablet by mouth once daily', dose: 1, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd' }, supply: [90, 90] },
  ibuprofen200: { rxnorm: '310965', display: 'ibuprofen 200 MG Oral Tablet', text: 'Ibuprofen 200 mg tablet', sig: 'Take 2 tablets by mouth every 6 hours as needed for pain', dose: 2, form: TAB, route: ORAL, timing: { frequency: 1, period: 6, periodUnit: 'h' }, prn: true, supply: [40, 10] },
  naproxen220: { rxnorm: '849574', display: 'naproxen sodium 220 MG Oral Tablet', text: 'Naproxen sodium 220 mg tablet', sig: 'Take 1 tablet by mouth every 12 hours as needed for pain', dose: 1, form: TAB, route: ORAL, timing: { frequency: 1, period: 12, periodUnit: 'h' }, prn: true, supply: [30, 15] },
  acetaminophen325: { rxnorm: '313782', display: 'acetaminophen 325 MG Oral Tablet', text: 'Acetaminophen 325 mg tablet', sig: 'Take 2 tablets by mouth every 6 hours as needed for pain or fever (max 3 g per day)', dose: 2, form: TAB, route: ORAL, timing: { frequency: 1, period: 6, periodUnit: 'h' }, prn: true, supply: [40, 10] },
  penicillinV250: { rxnorm: '834061', display: 'penicillin V potassium 250 MG Oral Tablet', text: 'Penicillin V 250 mg tablet', sig: 'Take 1 tablet by mouth 4 times daily for 10 days', dose: 1, form: TAB, route: ORAL, timing: { frequency: 4, period: 1, periodUnit: 'd', boundsDays: 10 }, supply: [40, 10] },
  amoxicillin250: { rxnorm: '308182', display: 'amoxicillin 250 MG Oral Capsule', text: 'Amoxicillin 250 mg capsule', sig: 'Take 2 capsules by mouth 3 times daily for 7 days', dose: 2, form: CAP, route: ORAL, timing: { frequency: 3, period: 1, periodUnit: 'd', boundsDays: 7 }, supply: [42, 7] },
  azithromycin250: { rxnorm: '308460', display: 'azithromycin 250 MG Oral Tablet', text: 'Azithromycin 250 mg tablet (Z-pak)', sig: 'Take 2 tablets on day 1, then 1 tablet daily on days 2 to 5', dose: 1, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd', boundsDays: 5 }, supply: [6, 5] },
  prednisone5: { rxnorm: '312617', display: 'predniSONE 5 MG Oral Tablet', text: 'Prednisone 5 mg tablet', sig: 'Take 8 tablets (40 mg) by mouth once daily for 5 days', dose: 8, form: TAB, route: ORAL, timing: { frequency: 1, period: 1, periodUnit: 'd', boundsDays: 5 }, supply: [40, 5] },
  // Free-text only (no coding): what patients report and pharmacies do not code.
  omeprazoleOtc: { textOnly: true, text: 'Omeprazole 20 mg capsule (over the counter)', sig: 'Takes 1 capsule before breakfast "most days"' },
  fishOil: { textOnly: true, text: 'Fish oil 1000 mg softgel (supplement)', sig: '1 softgel daily' },
  vitaminD: { textOnly: true, text: 'Vitamin D3 2000 IU (supplement)', sig: '1 capsule daily' },
  turmeric: { textOnly: true, text: 'Turmeric curcumin supplement', sig: 'Dose unknown' },
});

// Allergy substances (SNOMED CT) and typical reactions.
export const ALLERGENS = Object.freeze({
  penicillin: { code: ['764146007', 'Penicillin (substance)'], text: 'Penicillin', category: 'medication', type: 'allergy', reactions: [['126485001', 'Urticaria (disorder)'], ['41291007', 'Angioedema (disorder)']] },
  codeine: { code: ['387494007', 'Codeine (substance)'], text: 'Codeine', category: 'medication', type: 'intolerance', reactions: [['422587007', 'Nausea (finding)']] },
  aspirin: { code: ['387458008', 'Aspirin (substance)'], text: 'Aspirin', category: 'medication', type: 'allergy', reactions: [['56018004', 'Wheezing (finding)']] },
  ibuprofen: { code: ['387207008', 'Ibuprofen (substance)'], text: 'Ibuprofen', category: 'medication', type: 'allergy', reactions: [['271807003', 'Eruption of skin (disorder)']] },
  lisinopril: { code: ['386873009', 'Lisinopril (substance)'], text: 'Lisinopril', category: 'medication', type: 'intolerance', reactions: [['49727002', 'Cough (finding)']] },
  peanut: { code: ['762952008', 'Peanut (substance)'], text: 'Peanut', category: 'food', type: 'allergy', reactions: [['418290006', 'Itching (finding)'], ['39579001', 'Anaphylaxis (disorder)']] },
  shellfish: { code: ['735029006', 'Shellfish (substance)'], text: 'Shellfish', category: 'food', type: 'allergy', reactions: [['126485001', 'Urticaria (disorder)']] },
  eggs: { code: ['102263004', 'Eggs (edible) (substance)'], text: 'Egg', category: 'food', type: 'allergy', reactions: [['271807003', 'Eruption of skin (disorder)']] },
  latex: { code: ['111088007', 'Latex (substance)'], text: 'Latex', category: 'environment', type: 'allergy', reactions: [['271807003', 'Eruption of skin (disorder)']] },
  grassPollen: { code: ['256277009', 'Grass pollen (substance)'], text: 'Grass pollen', category: 'environment', type: 'allergy', reactions: [['76067001', 'Sneezing (finding)']] },
  beeVenom: { code: ['288328004', 'Bee venom (substance)'], text: 'Bee venom', category: 'environment', type: 'allergy', reactions: [['39579001', 'Anaphylaxis (disorder)']] },
});

export const NO_KNOWN_ALLERGY = Object.freeze(['716186003', 'No known allergy (situation)']);

export const ENCOUNTER_CLASSES = Object.freeze({
  AMB: 'ambulatory',
  IMP: 'inpatient encounter',
  EMER: 'emergency',
  VR: 'virtual',
});

export const ENCOUNTER_TYPES = Object.freeze({
  checkup: ['185349003', 'Encounter for check up (procedure)'],
  followup: ['390906007', 'Follow-up encounter (procedure)'],
  problem: ['185345009', 'Encounter for symptom (procedure)'],
  emergency: ['50849002', 'Emergency room admission (procedure)'],
  admission: ['32485007', 'Hospital admission (procedure)'],
  telehealth: ['448337001', 'Telemedicine consultation with patient (procedure)'],
});

// Fictional people. Every surname is hyphenated so nobody mistakes a record
// for a real person ("Ana Synthetic-Example").
export const GIVEN_FEMALE = ['Amara', 'Beatriz', 'Chloe', 'Dana', 'Elif', 'Farah', 'Grace', 'Hana', 'Ingrid', 'Joanna', 'Keiko', 'Lucia', 'Mei', 'Nadia', 'Olivia', 'Priya', 'Rosa', 'Sofia', 'Tamara', 'Yara'];
export const GIVEN_MALE = ['Ahmed', 'Bruno', 'Carlos', 'Daniel', 'Emeka', 'Felix', 'Gustavo', 'Hiroshi', 'Ivan', 'Jamal', 'Kofi', 'Leo', 'Mateo', 'Nikolai', 'Omar', 'Pavel', 'Rafael', 'Samir', 'Tobias', 'Victor'];
export const GIVEN_OTHER = ['Alex', 'Jordan', 'Kai', 'Quinn', 'Robin', 'Sasha'];
export const SURNAME_PREFIX = ['Synthetic', 'Sample', 'Fictional', 'Testcase', 'Mock', 'Demo', 'Specimen', 'Placeholder', 'Simulated', 'Dummy'];
export const SURNAME_SUFFIX = ['Example', 'Rivera', 'Okafor', 'Nguyen', 'Kowalski', 'Haddad', 'Tanaka', 'Moreau', 'Larsen', 'Mensah', 'Patel', 'Silva'];
export const STREETS = ['Example Street', 'Sample Avenue', 'Test Lane', 'Synthetic Road', 'Placeholder Court', 'Mock Drive', 'Fixture Way'];
export const CITIES = [['Sampletown', '01901'], ['Exampleville', '01902'], ['Testburg', '01903'], ['Synthfield', '01904'], ['Demo Falls', '01905']];
