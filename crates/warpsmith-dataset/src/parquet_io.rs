//! Arrow schema and Parquet encoding of [`Record`]s.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ListArray, ListBuilder, RecordBatch, StringArray, StringBuilder, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::{DatasetError, Record};

/// The Arrow schema of a shard, in DESIGN.md's column order. All columns are non-nullable.
pub fn schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        s("id"),
        s("name"),
        s("category"),
        Field::new("seed", DataType::UInt64, false),
        s("python"),
        s("cpu_forward"),
        s("cpu_backward"),
        s("cuda_forward"),
        s("cuda_backward"),
        s("cpu_module"),
        s("cuda_module"),
        s("warp_version"),
        Field::new(
            "features",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        s("split"),
    ]))
}

fn perr(path: &Path) -> impl Fn(String) -> DatasetError + '_ {
    move |message| DatasetError::Parquet {
        path: path.to_path_buf(),
        message,
    }
}

/// Encodes `rows` as one Parquet file (zstd level 3, one row group); `path` is only for error messages.
pub(crate) fn to_parquet(rows: &[&Record], path: &Path) -> Result<Vec<u8>, DatasetError> {
    let err = perr(path);
    let col = |f: fn(&Record) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| f(r))))
    };
    let mut features = ListBuilder::new(StringBuilder::new());
    for r in rows {
        for f in &r.features {
            features.values().append_value(f);
        }
        features.append(true);
    }
    let features: ListArray = features.finish();
    let schema = schema();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            col(|r| &r.id),
            col(|r| &r.name),
            col(|r| &r.category),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.seed))),
            col(|r| &r.python),
            col(|r| &r.cpu_forward),
            col(|r| &r.cpu_backward),
            col(|r| &r.cuda_forward),
            col(|r| &r.cuda_backward),
            col(|r| &r.cpu_module),
            col(|r| &r.cuda_module),
            col(|r| &r.warp_version),
            Arc::new(features),
            col(|r| &r.split),
        ],
    )
    .map_err(|e| err(e.to_string()))?;
    let zstd = ZstdLevel::try_new(3).map_err(|e| err(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(zstd))
        .set_max_row_group_row_count(Some(rows.len().max(1)))
        .build();
    let mut buf = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut buf, schema, Some(props)).map_err(|e| err(e.to_string()))?;
    w.write(&batch).map_err(|e| err(e.to_string()))?;
    w.close().map_err(|e| err(e.to_string()))?;
    Ok(buf)
}

/// Reads every record of one Parquet shard.
///
/// # Errors
/// [`DatasetError`] if the file cannot be opened, is not Parquet, or lacks a column.
pub fn read_records(path: &Path) -> Result<Vec<Record>, DatasetError> {
    let err = perr(path);
    let file = std::fs::File::open(path).map_err(crate::io_err("open", path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| err(e.to_string()))?
        .build()
        .map_err(|e| err(e.to_string()))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| err(e.to_string()))?;
        let s = |name: &str| -> Result<&StringArray, DatasetError> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                .ok_or_else(|| err(format!("missing string column `{name}`")))
        };
        let seed = batch
            .column_by_name("seed")
            .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
            .ok_or_else(|| err("missing uint64 column `seed`".into()))?;
        let features = batch
            .column_by_name("features")
            .and_then(|c| c.as_any().downcast_ref::<ListArray>())
            .ok_or_else(|| err("missing list column `features`".into()))?;
        for i in 0..batch.num_rows() {
            let fl = features.value(i);
            let fl = fl
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| err("features is not list<string>".into()))?;
            out.push(Record {
                id: s("id")?.value(i).into(),
                name: s("name")?.value(i).into(),
                category: s("category")?.value(i).into(),
                seed: seed.value(i),
                python: s("python")?.value(i).into(),
                cpu_forward: s("cpu_forward")?.value(i).into(),
                cpu_backward: s("cpu_backward")?.value(i).into(),
                cuda_forward: s("cuda_forward")?.value(i).into(),
                cuda_backward: s("cuda_backward")?.value(i).into(),
                cpu_module: s("cpu_module")?.value(i).into(),
                cuda_module: s("cuda_module")?.value(i).into(),
                warp_version: s("warp_version")?.value(i).into(),
                features: (0..fl.len()).map(|j| fl.value(j).to_string()).collect(),
                split: s("split")?.value(i).into(),
            });
        }
    }
    Ok(out)
}
